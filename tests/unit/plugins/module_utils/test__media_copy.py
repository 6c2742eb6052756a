"""Bucket to bucket (an instance moving from its current bucket to a new one), against moto."""

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_copy as mc
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_sync as ms
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import (
    MediaSyncOptionError,
    MediaSyncSourceError,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_remote import RemoteObject
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import s3_config
from media_fixtures import BUCKET, client, keys  # noqa: F401 - fixtures  # pylint: disable=unused-import

OLD = "unit-old-bucket"
PNG = b"\x89PNG" + b"x" * 300


@pytest.fixture
def old(client):  # noqa: F811
    """The instance's current bucket: covers it wrote while on it, and a file outside images/."""
    client.create_bucket(Bucket=OLD)
    for index in range(7):
        client.put_object(
            Bucket=OLD,
            Key=f"images/covers/live-{index}.png",
            Body=PNG + bytes([index]),
            ContentType="image/png",
            CacheControl="max-age=86400",
        )
    client.put_object(Bucket=OLD, Key="images/avatars/ü a+b.webp", Body=b"webp", ContentType="image/webp")
    client.put_object(Bucket=OLD, Key="static/css/old.css", Body=b"body{}", ContentType="text/css")
    return client


def snapshot(client, bucket):  # noqa: F811
    return {o["Key"]: (o["Size"], o["ETag"]) for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}


def copy(client, method=mc.SERVER_SIDE, source_client=None, **kwargs):  # noqa: F811
    source = mc.CopySource(source_client or client, OLD, "images", method)
    return ms.MediaSync(client, BUCKET, "images", None, direction="copy", source=source, workers=4, **kwargs).run()


@pytest.mark.parametrize("method", [mc.SERVER_SIDE, mc.STREAMED])
def test_copies_what_the_target_lacks_then_nothing(old, method):
    before = snapshot(old, OLD)
    first = copy(old, method, acl="public-read")
    assert first["stats"]["uploaded"] == 8 and first["stats"]["errors"] == 0
    assert first["source"] == {"bucket": OLD, "prefix": "images", "method": method}
    assert keys(old) == sorted(k for k in before if k.startswith("images/"))
    head = old.head_object(Bucket=BUCKET, Key="images/avatars/ü a+b.webp")
    assert head["ContentType"] == "image/webp"
    cover = old.get_object(Bucket=BUCKET, Key="images/covers/live-3.png")
    assert cover["Body"].read() == PNG + b"\x03"
    assert cover["ContentType"] == "image/png" and cover["CacheControl"] == "max-age=86400"
    grants = old.get_object_acl(Bucket=BUCKET, Key="images/covers/live-3.png")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    second = copy(old, method)
    assert second["stats"]["uploaded"] == 0 and second["stats"]["skipped"] == 8
    assert snapshot(old, OLD) == before, "the source changed"


def test_streamed_between_two_clients_in_parts(old):
    """Another client for the source (another provider or account); a big object goes in parts."""
    account = {"aws_access_key_id": "other", "aws_secret_access_key": "other-secret"}  # moto's fake account
    other = boto3.session.Session(**account).client("s3", region_name="us-east-1", config=s3_config())
    big = bytes(range(256)) * (11 * 4096)  # 11 MiB: three 5 MiB parts
    old.put_object(Bucket=OLD, Key="images/previews/big.jpg", Body=big, ContentType="image/jpeg")
    result = copy(old, mc.STREAMED, source_client=other, multipart_threshold=5 * mc.MB, multipart_chunksize=5 * mc.MB)
    assert result["stats"]["uploaded"] == 9
    answer = old.get_object(Bucket=BUCKET, Key="images/previews/big.jpg")
    assert answer["ETag"].strip('"').endswith("-3"), "not uploaded in parts"
    assert answer["Body"].read() == big and answer["ContentType"] == "image/jpeg"


def test_server_side_over_the_copy_object_limit(old, monkeypatch):
    monkeypatch.setattr(mc, "COPY_OBJECT_LIMIT", 100)
    result = copy(old, mc.SERVER_SIDE, multipart_threshold=5 * mc.MB)
    assert result["stats"]["uploaded"] == 8
    head = old.head_object(Bucket=BUCKET, Key="images/covers/live-0.png")
    assert head["ContentType"] == "image/png" and head["CacheControl"] == "max-age=86400"


def test_identical_skipped_different_is_a_conflict_never_overwritten(old):
    old.put_object(Bucket=BUCKET, Key="images/covers/live-0.png", Body=PNG + b"\x00")  # identical
    old.put_object(Bucket=BUCKET, Key="images/covers/live-1.png", Body=b"another cover")  # other content
    old.put_object(Bucket=BUCKET, Key="images/covers/only-new.png", Body=b"only in the target")
    result = copy(old)
    assert result["stats"]["skipped"] == 1 and result["stats"]["conflicts"] == 1
    assert result["stats"]["uploaded"] == 6
    assert result["conflict_files"] == [{"key": "images/covers/live-1.png", "reason": "content differs"}]
    assert old.get_object(Bucket=BUCKET, Key="images/covers/live-1.png")["Body"].read() == b"another cover"
    assert old.get_object(Bucket=BUCKET, Key="images/covers/only-new.png")["Body"].read() == b"only in the target"


def test_same_size_other_content_with_checksum_compare(old):
    old.put_object(Bucket=BUCKET, Key="images/covers/live-2.png", Body=PNG + b"\x09")  # same size, other bytes
    assert copy(old, compare="size")["stats"]["conflicts"] == 0  # size: taken as the same file
    result = copy(old, compare="checksum")
    assert result["stats"]["conflicts"] == 1
    overwritten = copy(old, compare="checksum", overwrite=True)
    assert overwritten["stats"]["uploaded"] == 1
    assert old.get_object(Bucket=BUCKET, Key="images/covers/live-2.png")["Body"].read() == PNG + b"\x02"


def test_check_mode_counts_and_writes_nothing_even_without_the_target(old):
    planned = ms.MediaSync(
        old, "not-yet", "images", None, direction="copy", source=mc.CopySource(old, OLD, "images"), check_mode=True
    ).run()
    assert planned["stats"]["uploaded"] == 8
    assert planned["stats"]["bytes"] == sum(size for key, (size, _e) in snapshot(old, OLD).items() if "images/" in key)
    assert copy(old, check_mode=True)["stats"]["uploaded"] == 8
    assert keys(old) == []


def test_source_listing_error_names_the_source(old):
    with pytest.raises(MediaSyncSourceError) as err:
        ms.MediaSync(
            old, BUCKET, "images", None, direction="copy", source=mc.CopySource(old, "no-such-old", "images")
        ).run()
    assert "source s3://no-such-old/images/" in err.value.message
    assert err.value.exception is not None


def test_object_that_cannot_be_read_is_an_error_not_a_loss(old):
    class Unreadable:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def get_object(self, **kwargs):
            if kwargs["Key"].endswith("live-4.png"):
                raise RuntimeError("AccessDenied")
            return self.real.get_object(**kwargs)

    result = copy(old, mc.STREAMED, source_client=Unreadable(old))
    assert result["stats"]["uploaded"] == 7 and result["stats"]["errors"] == 1
    assert result["error_files"][0]["key"] == "images/covers/live-4.png"


def test_a_copy_needs_a_source_and_only_a_copy_takes_one(client):  # noqa: F811
    with pytest.raises(MediaSyncOptionError):
        ms.MediaSync(client, BUCKET, "images", None, direction="copy")
    with pytest.raises(MediaSyncOptionError):
        ms.MediaSync(client, BUCKET, "images", "/tmp", source=mc.CopySource(client, OLD, "images"))
    with pytest.raises(MediaSyncOptionError):
        mc.CopySource(client, OLD, "images", "rsync")


@pytest.mark.parametrize(
    ("requested", "source_endpoint", "source_key", "expected"),
    [
        ("auto", "http://s3.test:8333", "K", mc.SERVER_SIDE),
        ("auto", "http://s3.test:8333/", "K", mc.SERVER_SIDE),
        ("auto", "http://s3.test:8333", "OTHER", mc.STREAMED),
        ("auto", "https://s3.other.test", "K", mc.STREAMED),
        ("streamed", "http://s3.test:8333", "K", mc.STREAMED),
        ("server-side", "https://s3.other.test", "OTHER", mc.SERVER_SIDE),
    ],
)
def test_resolve_copy_method(requested, source_endpoint, source_key, expected):
    assert mc.resolve_copy_method(requested, source_endpoint, "http://s3.test:8333", source_key, "K") == expected


def test_resolve_copy_method_rejects_others():
    with pytest.raises(MediaSyncOptionError, match=r"source\.method"):
        mc.resolve_copy_method("rsync", None, None, "K", "K")


@pytest.mark.parametrize(
    ("source", "target", "compare", "expected"),
    [
        ((10, "a" * 32), (11, "a" * 32), "size", False),
        ((10, "a" * 32), (10, "b" * 32), "size", True),
        ((10, "a" * 32), (10, "a" * 32), "checksum", True),
        ((10, "a" * 32), (10, "b" * 32), "checksum", False),
        ((10, "a" * 32 + "-2"), (10, "b" * 32), "checksum", None),
        ((10, "a" * 32 + "-2"), (10, "a" * 32 + "-2"), "checksum", True),
        ((10, ""), (10, ""), "checksum", None),
    ],
)
def test_same_object(source, target, compare, expected):
    assert mc.same_object(RemoteObject("k", *source), RemoteObject("k", *target), compare) is expected
