"""Moving one file, the engines, and the guard on botocore's private internals."""

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_transfer as mx
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncEngineError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile
from media_fixtures import BUCKET, client, http_client, moto_endpoint  # noqa: F401 - fixtures  # pylint: disable=unused-import


def test_botocore_internals_still_there():
    """FAILS LOUDLY when a botocore release moves what engine=botocore_internals reads.

    Then: run the benchmark without it (docs/benchmarks.md), and either adapt FastPut to the
    new botocore or drop the engine; engine=auto never uses it.
    """
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="k",
        aws_secret_access_key="s",  # noqa: S106 - a dummy
    )
    missing = mx.check_botocore_internals(s3)
    version = __import__("botocore").__version__
    assert missing == [], f"botocore {version} moved private attributes engine=botocore_internals uses: {missing}"
    assert mx.FastPut(s3, "b").base == "http://127.0.0.1:1/b/"


def test_fast_put_sends_through_botocore_internals(moto_endpoint, tmp_path):  # noqa: F811
    s3 = http_client(moto_endpoint)
    s3.create_bucket(Bucket="fast")
    fast = mx.FastPut(s3, "fast")
    assert fast.put("images/a b+ü.jpg", b"jpeg", {"Content-Type": "image/jpeg", "Cache-Control": "max-age=1"})
    head = s3.head_object(Bucket="fast", Key="images/a b+ü.jpg")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 4


def test_fast_put_falls_back_and_switches_off():
    class Session:
        def send(self, _request):
            raise OSError("refused")

    fast = mx.FastPut.__new__(mx.FastPut)
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


def test_auto_engine_is_the_first_measured_one_the_host_runs(monkeypatch):
    assert "botocore_internals" not in mx.AUTO_ENGINES  # private internals are never the default
    monkeypatch.setattr(mx, "AUTO_ENGINES", ("crt", "boto3"))
    monkeypatch.setattr(mx, "crt_available", lambda: True)
    assert mx.resolve_engine("auto") == mx.resolve_engine(None) == "crt"
    monkeypatch.setattr(mx, "crt_available", lambda: False)
    assert mx.resolve_engine("auto") == "boto3"  # no awscrt on the host: the public boto3 path


def test_resolve_engine(monkeypatch):
    assert mx.resolve_engine("auto") in (*mx.AUTO_ENGINES, "boto3")
    assert mx.resolve_engine("botocore_internals") == "botocore_internals"
    with pytest.raises(MediaSyncEngineError):
        mx.resolve_engine("warp")
    monkeypatch.setattr(mx, "crt_available", lambda: False)
    with pytest.raises(MediaSyncEngineError, match="awscrt"):
        mx.resolve_engine("crt")


@pytest.mark.parametrize("engine", ["boto3", "botocore_internals"])
def test_upload_and_download(client, tmp_path, engine):  # noqa: F811
    path = tmp_path / "c.webp"
    path.write_bytes(b"webp")
    transfer = mx.Transfer(client, BUCKET, "images", acl="public-read", engine=engine)
    assert transfer.upload(LocalFile("c.webp", str(path), 4)) == "images/c.webp"
    head = client.head_object(Bucket=BUCKET, Key="images/c.webp")
    assert head["ContentType"] == "image/webp" and head["CacheControl"] == "max-age=86400"
    target = tmp_path / "down" / "c.webp"
    transfer.download(LocalFile("c.webp", str(target), 4))
    assert target.read_bytes() == b"webp"
    assert [p.name for p in target.parent.iterdir()] == ["c.webp"]
