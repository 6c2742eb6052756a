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


def test_listing_session_through_the_public_session_component(monkeypatch):
    """The listing client reads pages with ListingParser and leaves LastModified as text; other
    sessions' clients are untouched."""
    import boto3
    import botocore.session

    with moto.mock_aws():
        session = mr.listing_session(botocore.session.get_session())
        kwargs = dict(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")  # noqa: S106
        raw = boto3.session.Session(botocore_session=session).client("s3", **kwargs)
        plain = boto3.client("s3", **kwargs)
        plain.create_bucket(Bucket=BUCKET)
        plain.put_object(Bucket=BUCKET, Key="images/x", Body=b"x")
        assert isinstance(raw.list_objects_v2(Bucket=BUCKET)["Contents"][0]["LastModified"], str)
        assert not isinstance(plain.list_objects_v2(Bucket=BUCKET)["Contents"][0]["LastModified"], str)
        assert list(mr.list_remote(raw, BUCKET, "images")) == ["x"]
        with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucket"):  # errors: botocore's parser
            raw.list_objects_v2(Bucket="no-such-bucket")
        assert isinstance(raw.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"], int)


S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def listing_xml(contents="", extra="", namespace=S3_NS):
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult{xmlns}><Name>media</Name>'
        f"<Prefix>images/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter></Delimiter>"
        f"<IsTruncated>true</IsTruncated><NextContinuationToken>tok/en+=</NextContinuationToken>{extra}{contents}"
        "</ListBucketResult>"
    ).encode()


OBJECT = (
    "<Contents><Key>{key}</Key><LastModified>2026-12-01T10:00:00.000Z</LastModified>"
    "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>{size}</Size>"
    "<StorageClass>STANDARD</StorageClass>{more}</Contents>"
)
ANSWERS = {
    "page": listing_xml(
        OBJECT.format(key="images/covers/a.jpg", size=2345, more="")
        + OBJECT.format(key="images/covers/b &amp; c ✓.jpg", size=0, more="")
    ),
    "every field": listing_xml(
        OBJECT.format(
            key="images/x%2By",
            size=7,
            more="<Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
            "<ChecksumAlgorithm>SHA256</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"
            "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
            "<RestoreExpiryDate>2026-12-09T00:00:00.000Z</RestoreExpiryDate></RestoreStatus><Unknown>z</Unknown>",
        ),
        extra="<EncodingType>url</EncodingType><StartAfter>images/a</StartAfter><ContinuationToken>t0</ContinuationToken>",
    ),
    "prefixes": listing_xml(
        "<CommonPrefixes><Prefix>images/covers/</Prefix></CommonPrefixes>"
        "<CommonPrefixes><Prefix>images/previews/</Prefix></CommonPrefixes>"
    ),
    "empty": listing_xml(),
    "no namespace (some servers)": listing_xml(OBJECT.format(key="k", size=1, more=""), namespace=""),
}


@pytest.mark.parametrize("answer", list(ANSWERS), ids=list(ANSWERS))
def test_listing_parser_reads_as_botocore_does(answer):
    """The fast reading of ListObjectsV2 equals botocore's own, field for field: a botocore
    that changes how it reads these answers fails here, not in an admin's sync."""
    import botocore.session
    from botocore.awsrequest import HTTPHeaders  # as botocore hands the parser its headers
    from botocore.parsers import ResponseParserFactory

    shape = botocore.session.get_session().get_service_model("s3").operation_model("ListObjectsV2").output_shape
    headers = HTTPHeaders()
    for name, value in {
        "x-amz-request-id": "R1",
        "x-amz-id-2": "H1",
        "Content-Type": "application/xml",
        "x-amz-request-charged": "requester",
    }.items():
        headers[name] = value
    response = {"status_code": 200, "headers": headers, "body": ANSWERS[answer], "context": {}}
    botocores = ResponseParserFactory()
    botocores.set_parser_defaults(timestamp_parser=str)
    expected = botocores.create_parser("rest-xml").parse(dict(response), shape)
    factory = mr.ListingParserFactory()
    factory.set_parser_defaults(timestamp_parser=str)
    parser = factory.create_parser("rest-xml")
    assert isinstance(parser, mr.ListingParser)
    assert parser.parse(dict(response), shape) == expected


def test_listing_parser_leaves_the_rest_to_botocore():
    calls = []

    class Fallback:
        def parse(self, response, shape):
            calls.append(response["status_code"])
            return {"from": "botocore"}

    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    listing = model.operation_model("ListObjectsV2").output_shape
    parser = mr.ListingParser(Fallback())
    error = {"status_code": 404, "headers": {}, "body": b"<Error><Code>NoSuchBucket</Code></Error>"}
    assert parser.parse(error, listing) == {"from": "botocore"}
    assert parser.parse({"status_code": 200, "headers": {}, "body": b"<not xml"}, listing) == {"from": "botocore"}
    head = {"status_code": 200, "headers": {}, "body": b""}
    assert parser.parse(head, model.operation_model("HeadBucket").output_shape) == {"from": "botocore"}
    assert calls == [404, 200, 200]


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
