"""media_sync's bucket-to-bucket copy (issue 12) between the bed's real servers: server-side
CopyObject within SeaweedFS and within Ceph RGW, streamed from SeaweedFS to Ceph RGW (another
provider, other credentials). Each object arrives whole with its type and cache header, a
rerun copies nothing, and the source is left exactly as it was."""

import uuid

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_copy as mc
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_sync as ms

pytestmark = pytest.mark.testbed
MB = 1024 * 1024
OBJECTS = {
    **{f"covers/move-{index:03d}.png": (b"\x89PNG" + bytes([index % 256]) * (200 + index)) for index in range(40)},
    "avatars/ü a+b.webp": b"RIFF-webp",
    "previews/big.jpg": bytes(range(256)) * (6 * MB // 256 + 17),  # over the 5 MiB threshold used below
}
TYPES = {".png": "image/png", ".webp": "image/webp", ".jpg": "image/jpeg"}


def _fill(client, bucket):
    client.create_bucket(Bucket=bucket)
    for rel, body in OBJECTS.items():
        client.put_object(
            Bucket=bucket,
            Key=f"images/{rel}",
            Body=body,
            ContentType=TYPES[rel[rel.rindex(".") :]],
            CacheControl="max-age=86400",
        )
    client.put_object(Bucket=bucket, Key="static/css/site.css", Body=b"body{}", ContentType="text/css")


def _listing(client, bucket):
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found.update({o["Key"]: (o["Size"], o["ETag"]) for o in page.get("Contents", [])})
    return found


def _drop(client, bucket):
    try:
        keys = list(_listing(client, bucket))
    except Exception:  # noqa: BLE001 - not there
        return
    for start in range(0, len(keys), 500):
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 500]]})
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def buckets(request):
    made = []

    def make(client, role):
        name = f"move-it-{role}-{uuid.uuid4().hex[:8]}"
        made.append((client, name))
        return name

    yield make
    for client, name in made:
        _drop(client, name)


@pytest.mark.parametrize(
    ("source_server", "target_server", "method"),
    [
        ("s3_server", "s3_server", mc.SERVER_SIDE),
        ("rgw_server", "rgw_server", mc.SERVER_SIDE),
        ("s3_server", "rgw_server", mc.STREAMED),
    ],
    ids=["seaweedfs-server-side", "ceph-server-side", "seaweedfs-to-ceph-streamed"],
)
def test_copy_between_real_buckets(request, buckets, source_server, target_server, method):
    source_client = request.getfixturevalue(source_server).client()
    target_client = request.getfixturevalue(target_server).client()
    old, new = buckets(source_client, "a"), buckets(target_client, "b")
    _fill(source_client, old)
    target_client.create_bucket(Bucket=new)
    before = _listing(source_client, old)

    def run():
        return ms.MediaSync(
            target_client,
            new,
            "images",
            None,
            direction="copy",
            source=mc.CopySource(source_client, old, "images", method),
            acl="public-read",
            workers=8,
            multipart_threshold=5 * MB,
            multipart_chunksize=5 * MB,
        ).run()

    first = run()
    assert first["stats"]["uploaded"] == len(OBJECTS) and first["stats"]["errors"] == 0, first
    for rel, body in OBJECTS.items():
        answer = target_client.get_object(Bucket=new, Key=f"images/{rel}")
        assert answer["Body"].read() == body, rel
        assert answer["ContentType"] == TYPES[rel[rel.rindex(".") :]], rel
        assert answer.get("CacheControl") == "max-age=86400", rel
    assert "static/css/site.css" not in _listing(target_client, new), "only images/ is copied"
    second = run()
    assert second["stats"]["uploaded"] == 0 and second["stats"]["skipped"] == len(OBJECTS)
    assert _listing(source_client, old) == before, "the source changed"
