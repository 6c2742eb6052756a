"""Unit tests of the media sync engine, in process against moto (error paths and logic)."""

import hashlib
import os
import threading

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_sync as ms
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

moto = pytest.importorskip("moto")

BUCKET = "unit-media"


@pytest.fixture
def client():
    with moto.mock_aws():
        s3 = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="unit",
            aws_secret_access_key="unit-secret",  # noqa: S106 - moto's fake account
            config=Config(request_checksum_calculation="when_required", response_checksum_validation="when_required"),
        )
        s3.create_bucket(Bucket=BUCKET)
        yield s3


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "media"
    (root / "covers").mkdir(parents=True)
    (root / "avatars").mkdir()
    for index in range(12):
        (root / "covers" / f"c{index}.jpg").write_bytes(os.urandom(100 + index))
    (root / "avatars" / "a b+%?#ü.png").write_bytes(b"png")
    (root / "empty.txt").write_bytes(b"")
    (root / "inside-link.jpg").symlink_to(root / "covers" / "c1.jpg")
    (root / "outside-link").symlink_to("/etc/hostname")
    (root / "dir-link").symlink_to(root / "covers")
    (root / "dangling").symlink_to(root / "nothing")
    return root


def keys(client, prefix="images/"):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def sync(client, root, **kwargs):
    return ms.MediaSync(client, BUCKET, "images", str(root), workers=4, **kwargs).run()


def test_local_tree_follows_links_only_inside(tree):
    local = ms.LocalTree(str(tree))
    names = sorted(f.relpath for f in local.files())
    assert "inside-link.jpg" in names
    assert "covers/c3.jpg" in names
    assert "empty.txt" in names
    assert not any(n.startswith("dir-link") for n in names)
    assert sorted(local.skipped_symlinks) == ["dangling", "dir-link", "outside-link"]


def test_push_uploads_missing_then_nothing(client, tree):
    first = sync(client, tree, acl="public-read")
    assert first["stats"]["uploaded"] == 15
    assert first["stats"]["errors"] == 0
    assert len(keys(client)) == 15
    head = client.head_object(Bucket=BUCKET, Key="images/avatars/a b+%?#ü.png")
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=86400"
    second = sync(client, tree)
    assert second["stats"]["uploaded"] == 0
    assert second["stats"]["skipped"] == 15


def test_check_mode_moves_nothing(client, tree):
    planned = sync(client, tree, check_mode=True)
    assert planned["stats"]["uploaded"] == 15
    assert len(planned["sample"]) == ms.SAMPLE_SIZE
    assert keys(client) == []


def test_resume_uploads_only_what_is_missing(client, tree):
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=(tree / "covers" / "c0.jpg").read_bytes())
    result = sync(client, tree)
    assert result["stats"]["uploaded"] == 14
    assert result["stats"]["skipped"] == 1


def test_conflict_is_reported_not_overwritten(client, tree):
    original = b"x" * 100
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=original)
    result = sync(client, tree, compare="checksum")
    assert result["stats"]["conflicts"] == 1
    assert result["conflict_files"] == [{"key": "images/covers/c0.jpg", "reason": "content differs"}]
    assert client.get_object(Bucket=BUCKET, Key="images/covers/c0.jpg")["Body"].read() == original
    forced = sync(client, tree, compare="checksum", overwrite=True)
    assert forced["stats"]["uploaded"] == 1


def test_size_differs_is_a_conflict_even_by_size(client, tree):
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=b"short")
    result = sync(client, tree)
    assert result["stats"]["conflicts"] == 1


def test_multipart_upload_and_etag_match(client, tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    payload = os.urandom(6 * ms.MB + 123)
    (root / "big.bin").write_bytes(payload)
    result = ms.MediaSync(
        client, BUCKET, "images", str(root), multipart_threshold=5 * ms.MB, multipart_chunksize=5 * ms.MB
    ).run()
    assert result["stats"]["uploaded"] == 1
    etag = client.head_object(Bucket=BUCKET, Key="images/big.bin")["ETag"].strip('"')
    assert etag.endswith("-2")
    again = ms.MediaSync(client, BUCKET, "images", str(root), compare="checksum").run()
    assert again["stats"]["skipped"] == 1 and again["stats"]["conflicts"] == 0


def test_multipart_etag_guesses_the_part_size(tmp_path):
    path = tmp_path / "f"
    data = os.urandom(3 * ms.MB)
    path.write_bytes(data)
    parts = [data[i : i + 2 * ms.MB] for i in range(0, len(data), 2 * ms.MB)]
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"  # noqa: S324
    local = ms.LocalFile("f", str(path), len(data))
    assert ms.multipart_etag(str(path), 2 * ms.MB) == etag
    assert ms.same_content(local, etag) is True
    assert ms.same_content(local, "0" * 32 + "-2") is None  # no part size explains it: unknown
    assert ms.same_content(local, "0" * 32) is False
    assert ms.same_content(local, "not-an-md5") is None


def test_pull_restores_tree_atomically(client, tree, tmp_path):
    sync(client, tree)
    target = tmp_path / "restored"
    result = ms.MediaSync(client, BUCKET, "images", str(target), direction="pull", workers=4).run()
    assert result["stats"]["downloaded"] == 15
    assert (target / "covers" / "c5.jpg").read_bytes() == (tree / "covers" / "c5.jpg").read_bytes()
    assert not list(target.rglob(".bookwyrm-s3-*"))
    again = ms.MediaSync(client, BUCKET, "images", str(target), direction="pull").run()
    assert again["stats"]["downloaded"] == 0


def test_pull_refuses_keys_that_escape(client, tmp_path):
    client.put_object(Bucket=BUCKET, Key="images/../escape.txt", Body=b"x")
    result = ms.MediaSync(client, BUCKET, "images", str(tmp_path / "t"), direction="pull").run()
    assert result["stats"]["errors"] == 1
    assert not (tmp_path / "escape.txt").exists()


def test_server_gone_aborts_early_with_errors(tree):
    class DeadClient:
        calls = 0
        lock = threading.Lock()

        def get_paginator(self, _name):
            class Pages:
                def paginate(self, **_kw):
                    return [{"Contents": []}]

            return Pages()

        def put_object(self, **_kw):
            with self.lock:
                DeadClient.calls += 1
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    result = ms.MediaSync(DeadClient(), BUCKET, "images", str(tree), workers=1).run()
    assert result["aborted"] is True
    assert result["stats"]["errors"] >= 10
    assert "Could not connect" in result["abort_reason"]


def test_progress_file(client, tree, tmp_path):
    progress = tmp_path / "progress.json"
    sync(client, tree, progress_path=str(progress))
    import json

    record = json.loads(progress.read_text())
    assert record["phase"] == "done"
    assert record["uploaded"] == 15


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.PNG", "image/png"),
        ("f.woff2", "font/woff2"),
        ("x.css", "text/css"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type(name, expected):
    assert ms.content_type(name) == expected


@pytest.fixture
def moto_endpoint():
    """A moto server over HTTP on loopback: forked worker processes reach it like a real one."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def http_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="unit",
        aws_secret_access_key="unit-secret",  # noqa: S106 - moto's fake account
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def test_worker_processes_and_fast_put(moto_endpoint, tree):
    client = http_client(moto_endpoint)
    bucket = "unit-fast-put"
    client.create_bucket(Bucket=bucket)

    def run(**kwargs):
        return ms.MediaSync(
            client,
            bucket,
            "images",
            str(tree),
            workers=4,
            processes=2,
            fast_put=True,
            client_factory=lambda: http_client(moto_endpoint),
            **kwargs,
        ).run()

    first = run(acl="public-read", keep_files=True)
    assert first["stats"]["uploaded"] == 15
    assert first["stats"]["errors"] == 0
    assert len(first["transferred_files"]) == 15
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 15
    head = client.head_object(Bucket=bucket, Key="images/avatars/a b+%?#ü.png")
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=86400"
    body = client.get_object(Bucket=bucket, Key="images/covers/c3.jpg")["Body"].read()
    assert body == (tree / "covers" / "c3.jpg").read_bytes()
    again = run()
    assert again["stats"]["uploaded"] == 0
    assert again["stats"]["skipped"] == 15


def test_worker_processes_pull(moto_endpoint, tree, tmp_path):
    client = http_client(moto_endpoint)
    bucket = "unit-pull"
    client.create_bucket(Bucket=bucket)
    ms.MediaSync(client, bucket, "images", str(tree), workers=2).run()
    target = tmp_path / "pulled"
    target.mkdir()
    result = ms.MediaSync(
        client,
        bucket,
        "images",
        str(target),
        direction="pull",
        workers=4,
        processes=2,
        client_factory=lambda: http_client(moto_endpoint),
    ).run()
    assert result["stats"]["downloaded"] == 15
    assert (target / "covers" / "c5.jpg").read_bytes() == (tree / "covers" / "c5.jpg").read_bytes()


def test_fast_put_falls_back_and_switches_off():
    class Session:
        def send(self, _request):
            raise OSError("refused")

    fast = ms.FastPut.__new__(ms.FastPut)
    fast.base = "http://127.0.0.1:1/b/"
    fast.credentials = type("C", (), {"get_frozen_credentials": lambda self: None})()
    fast.session = Session()
    fast.region = "us-east-1"
    fast.misses = 0
    fast.enabled = True
    from botocore.awsrequest import AWSRequest

    fast.request = AWSRequest
    fast.auth = lambda *_a: type("A", (), {"add_auth": lambda self, r: None})()
    assert [fast.put("k", b"x", {}) for _attempt in range(4)] == [False] * 4
    assert fast.enabled is False


def test_worker_processes_abort_when_the_server_is_gone(tree):
    class DeadClient:
        def get_paginator(self, _name):
            class Pages:
                def paginate(self, **_kw):
                    return [{"Contents": []}]

            return Pages()

        def put_object(self, **_kw):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    result = ms.MediaSync(
        DeadClient(), BUCKET, "images", str(tree), workers=2, processes=2, client_factory=DeadClient
    ).run()
    assert result["aborted"] is True
    assert result["stats"]["uploaded"] == 0
    assert result["stats"]["errors"] >= 10
    assert "Could not connect" in result["abort_reason"]
