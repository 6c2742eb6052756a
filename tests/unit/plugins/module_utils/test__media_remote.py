"""The listing (parallel by prefix, read back in key order) and the ETag arithmetic."""

import bisect
import hashlib
import itertools
import os
import time

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_remote as mr
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncListError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile
from media_fixtures import BUCKET, client, moto  # noqa: F401 - fixture  # pylint: disable=unused-import

MB = mr.MB


def test_multipart_etag_guesses_the_part_size(tmp_path):
    path = tmp_path / "f"
    data = os.urandom(3 * MB)
    path.write_bytes(data)
    parts = [data[i : i + 2 * MB] for i in range(0, len(data), 2 * MB)]
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"  # noqa: S324
    local = LocalFile("f", str(path), len(data))
    assert mr.multipart_etag(str(path), 2 * MB) == etag
    assert mr.same_content(local, etag) is True
    assert mr.same_content(local, "0" * 32 + "-2") is None  # no part size explains it: unknown
    assert mr.same_content(local, "0" * 32) is False
    assert mr.same_content(local, "not-an-md5") is None
    assert mr.same_content(local, "") is None  # RGW's empty ETag: cannot tell, not "differs"


def fill(client, keys):  # noqa: F811
    for key in keys:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x")


def test_listing_in_key_order_across_directories_and_ranges(client, monkeypatch):  # noqa: F811
    monkeypatch.setattr(mr, "PAGE", 7)  # small pages: big prefixes get cut, ranges span several pages
    monkeypatch.setattr(mr, "SPLIT_DEPTH", 2)
    names = [f"images/covers/{c}{i:03d}.jpg" for c in "09aZz_" for i in range(9)]
    names += ["images/a-b", "images/covers-x", "images/avatars/u/1.png", "images/avatars/u/2.png", "images/é.png"]
    names += [f"images/previews/covers/p{i}.jpg" for i in range(20)] + ["images/dir/", "other/x"]
    # a subdirectory-rich prefix (BookWyrm's thumbnails/covers/<cover>/...), one big enough to be
    # cut twice, a key equal to a cut prefix, and first characters past ASCII and DEL
    names += [f"images/thumbnails/covers/{i:02x}/bw_book_{s}.webp" for i in range(40) for s in ("m", "x")]
    names += [f"images/thumbnails/covers/0{i:03d}/a" for i in range(30)] + ["images/thumbnails/covers/0"]
    names += ["images/covers/\x7fdel", "images/covers/\x7f", "images/covers/ÿ", "images/covers/€x", "images/covers/ "]
    fill(client, names)
    listing = mr.RemoteListing(client, BUCKET, "images", workers=4)
    got = [obj.relpath for obj in listing]
    expected = sorted(n[len("images/") :] for n in names if n.startswith("images/") and not n.endswith("/"))
    assert got == expected
    assert listing.requests > 20  # listed in pieces, not one serial pass
    assert listing.min_round_trip() is not None
    whole = sorted(n for n in names if not n.endswith("/"))
    one_worker = mr.RemoteListing(client, BUCKET, "", workers=1)  # a pool thread decides, never waits
    assert [obj.relpath for obj in one_worker] == whole


def test_listing_memory_is_bounded(client, monkeypatch):  # noqa: F811
    """Pages held at once stay bounded by the look-ahead, not by the size of the bucket."""
    monkeypatch.setattr(mr, "PAGE", 5)
    monkeypatch.setattr(mr, "NODES_AHEAD", 2)
    monkeypatch.setattr(mr, "PAGES_AHEAD", 1)
    fill(client, [f"images/covers/{i:04x}.jpg" for i in range(300)])
    held = []
    made = mr._Page.__init__

    def counting(self, listing, answer):
        made(self, listing, answer)
        held.append(len(self.objects))

    monkeypatch.setattr(mr._Page, "__init__", counting)
    listing = mr.RemoteListing(client, BUCKET, "images", workers=4)
    stream = iter(listing)
    for _index in range(10):
        next(stream)
    time.sleep(0.5)  # let the pool run as far ahead as it may
    fetched = sum(held)
    assert fetched < 300 / 2, fetched  # most of the bucket is not listed yet
    assert len(list(stream)) == 290


def test_listing_of_a_missing_bucket(client):  # noqa: F811
    assert list(mr.RemoteListing(client, "nope", "images", missing_bucket_is_empty=True)) == []
    with pytest.raises(MediaSyncListError) as caught:
        list(mr.RemoteListing(client, "nope", "images"))
    assert caught.value.exception.response["Error"]["Code"] == "NoSuchBucket"


def test_listing_out_of_order_is_an_error():
    class Unsorted:
        def list_objects_v2(self, **kw):
            if "Delimiter" in kw:  # many subdirectories: the prefix is listed whole, in pages
                return {"CommonPrefixes": [{"Prefix": f"p/{i:02d}/"} for i in range(20)], "IsTruncated": False}
            if "ContinuationToken" not in kw:
                return {"Contents": [{"Key": "p/-b", "Size": 1}], "IsTruncated": True, "NextContinuationToken": "t"}
            return {"Contents": [{"Key": "p/-a", "Size": 1}], "IsTruncated": False}

    with pytest.raises(MediaSyncListError, match="not in key order"):
        list(mr.RemoteListing(Unsorted(), "b", "p"))


def test_list_remote_index(client):  # noqa: F811
    fill(client, ["images/x", "images/y/z"])
    assert sorted(mr.list_remote(client, BUCKET, "images")) == ["x", "y/z"]


def test_raw_timestamps_through_the_public_session_component(monkeypatch):
    """The listing client leaves LastModified as text; other sessions' clients are untouched."""
    import boto3
    import botocore.session

    with moto.mock_aws():
        session = mr.raw_timestamps(botocore.session.get_session())
        kwargs = dict(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")  # noqa: S106
        raw = boto3.session.Session(botocore_session=session).client("s3", **kwargs)
        plain = boto3.client("s3", **kwargs)
        plain.create_bucket(Bucket=BUCKET)
        plain.put_object(Bucket=BUCKET, Key="images/x", Body=b"x")
        assert isinstance(raw.list_objects_v2(Bucket=BUCKET)["Contents"][0]["LastModified"], str)
        assert not isinstance(plain.list_objects_v2(Bucket=BUCKET)["Contents"][0]["LastModified"], str)
        assert list(mr.list_remote(raw, BUCKET, "images")) == ["x"]


class SortedBucket:
    """list_objects_v2 over a sorted key list, as S3 answers it (Prefix, Delimiter, StartAfter,
    ContinuationToken, MaxKeys): quick enough for the tens of thousands of keys a memory test
    needs, where moto would take minutes."""

    def __init__(self, keys):
        self.keys = sorted(keys)

    def list_objects_v2(self, **kw):
        prefix, most, delimiter = kw.get("Prefix", ""), kw["MaxKeys"], kw.get("Delimiter")
        start = kw.get("ContinuationToken") or kw.get("StartAfter") or ""
        index = bisect.bisect_right(self.keys, start) if start else bisect.bisect_left(self.keys, prefix)
        contents, prefixes, last = [], [], None
        while index < len(self.keys) and self.keys[index].startswith(prefix):
            key = self.keys[index]
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if len(contents) + len(prefixes) == most:
                return dict(Contents=contents, CommonPrefixes=prefixes, IsTruncated=True, NextContinuationToken=last)
            if cut >= 0:
                common = key[: cut + 1]
                prefixes.append({"Prefix": common})
                last = common + "\U0010ffff"  # past every key under it
                index = bisect.bisect_right(self.keys, last)
                continue
            contents.append({"Key": key, "Size": 1, "ETag": '"e"'})
            last = key
            index += 1
        return dict(Contents=contents, CommonPrefixes=prefixes, IsTruncated=False)


def test_listing_frees_what_the_reader_has_read(monkeypatch):
    """Memory stays flat with the size of the bucket: an object the reader has gone past is no
    longer held (BookWyrm's layout: a cover, twelve thumbnails in a directory of their own)."""
    created, freed = itertools.count(), itertools.count()

    class Counted(mr.RemoteObject):
        __slots__ = ()

        def __new__(cls, *args):
            next(created)
            return super().__new__(cls, *args)

        def __del__(self):
            next(freed)

    monkeypatch.setattr(mr, "RemoteObject", Counted)
    monkeypatch.setattr(mr, "PAGE", 100)
    covers = [f"{i:05x}" for i in range(2000)]
    keys = [f"images/covers/{c}.jpg" for c in covers]
    keys += [f"images/thumbnails/covers/{c}/{n:02d}.webp" for c in covers for n in range(12)]
    listing = mr.RemoteListing(SortedBucket(keys), BUCKET, "images", workers=4)
    read, most_held = 0, 0
    for _obj in listing:
        read += 1
        if read % 1000 == 0:
            most_held = max(most_held, next(created) - next(freed))  # both counters move by one
    assert read == len(keys)
    # the look-ahead at most (pages ahead in each of the ranges ahead), not the 26,000 read
    assert most_held <= mr.NODES_AHEAD * (mr.PAGES_AHEAD + 1) * mr.PAGE < read / 4, most_held
    assert next(created) - next(freed) < mr.PAGE, "objects still held once the listing has ended"
