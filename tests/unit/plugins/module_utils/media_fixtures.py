"""Fixtures of the media sync tests (one per module_utils file): moto in process, a moto
server on loopback for forked workers, and a small media tree."""

import os

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import s3_config

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
            config=s3_config(),  # the modules' own config: it knows which botocore has checksums
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
        config=s3_config(addressing_style="path"),
    )


def keys(client, prefix="images/", bucket=BUCKET):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


class DeadClient:
    """Lists an empty bucket, then every PUT fails as if the server were gone."""

    def list_objects_v2(self, **_kw):
        return {"Contents": [], "IsTruncated": False}

    def put_object(self, **_kw):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
