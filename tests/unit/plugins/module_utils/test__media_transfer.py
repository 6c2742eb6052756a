"""Moving one file, and the engines."""

import boto3
import botocore.config
import botocore.exceptions
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_transfer as mx
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncEngineError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile
from media_fixtures import BUCKET, client, http_client, moto_endpoint  # noqa: F401 - fixtures  # pylint: disable=unused-import


def credentials():
    return boto3.session.Session(aws_access_key_id="unit", aws_secret_access_key="unit-secret").get_credentials()  # noqa: S106 - moto's fake account


def test_signed_put_sends_through_public_parts(moto_endpoint):  # noqa: F811
    """A real request through the botocore names SignedPut uses: fails when a release changes them."""
    s3 = http_client(moto_endpoint)
    s3.create_bucket(Bucket="signed")
    signed = mx.SignedPut(s3, "signed", credentials())
    assert signed.base == moto_endpoint + "/signed/"
    assert signed.host == moto_endpoint.split("//", 1)[1]  # 127.0.0.1:<port>, signed and sent as given
    assert signed.put("images/a b+ü.jpg", b"jpeg", {"Content-Type": "image/jpeg", "Cache-Control": "max-age=1"})
    head = s3.head_object(Bucket="signed", Key="images/a b+ü.jpg")
    assert head["ContentType"] == "image/jpeg" and head["CacheControl"] == "max-age=1" and head["ContentLength"] == 4


def test_signed_put_refuses_what_it_cannot_sign(moto_endpoint):  # noqa: F811
    s3 = http_client(moto_endpoint)
    assert mx.make_signed_put(s3, "b", None) is None  # anonymous: put_object
    v2 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="unit",
        aws_secret_access_key="unit-secret",  # noqa: S106 - moto's fake account
        config=botocore.config.Config(signature_version="s3"),
    )
    assert mx.make_signed_put(v2, "b", credentials()) is None


def test_signed_put_answers_false_on_refusal_then_switches_off(moto_endpoint):  # noqa: F811
    s3 = http_client(moto_endpoint)
    signed = mx.SignedPut(s3, "no-such-bucket", credentials())
    assert [signed.put(f"k{n}", b"x", {}) for n in range(4)] == [False] * 4  # 404: the caller's put_object reports it
    assert signed.enabled is False


def test_transfer_sends_small_files_through_signed_put(moto_endpoint, tmp_path):  # noqa: F811
    s3 = http_client(moto_endpoint)
    s3.create_bucket(Bucket="signed")
    made = []

    def factory(s3_client, bucket):
        made.append(mx.make_signed_put(s3_client, bucket, credentials()))
        return made[-1]

    path = tmp_path / "c.webp"
    path.write_bytes(b"webp")
    transfer = mx.Transfer(s3, "signed", "images", engine="signed_put", signed_put_factory=factory, acl="public-read")
    for _round in range(2):
        assert transfer.upload(mx_local(path)) == "images/c.webp"
    assert len(made) == 1 and made[0].enabled and made[0].misses == 0  # made once, sent both
    head = s3.head_object(Bucket="signed", Key="images/c.webp")
    assert head["ContentType"] == "image/webp" and head["CacheControl"] == "max-age=86400"
    acl = s3.get_object_acl(Bucket="signed", Key="images/c.webp")
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in acl["Grants"])


def test_transfer_falls_back_to_put_object_with_its_errors(moto_endpoint, tmp_path):  # noqa: F811
    s3 = http_client(moto_endpoint)
    path = tmp_path / "c.webp"
    path.write_bytes(b"webp")

    def factory(s3_client, bucket):
        return mx.make_signed_put(s3_client, bucket, credentials())

    transfer = mx.Transfer(s3, "missing", "images", engine="signed_put", signed_put_factory=factory)
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucket"):
        transfer.upload(mx_local(path))


def mx_local(path):
    return LocalFile(path.name, str(path), path.stat().st_size)


def test_auto_engine_is_the_first_measured_one_the_host_runs(monkeypatch):
    assert mx.AUTO_ENGINES[0] == "signed_put"  # what `make bench` measured fastest
    monkeypatch.setattr(mx, "AUTO_ENGINES", ("crt", "boto3"))
    monkeypatch.setattr(mx, "crt_available", lambda: True)
    assert mx.resolve_engine("auto") == mx.resolve_engine(None) == "crt"
    monkeypatch.setattr(mx, "crt_available", lambda: False)
    assert mx.resolve_engine("auto") == "boto3"  # no awscrt on the host: the public boto3 path


def test_resolve_engine(monkeypatch):
    assert mx.resolve_engine("auto") in (*mx.AUTO_ENGINES, "boto3")
    assert mx.resolve_engine("signed_put") == "signed_put"
    with pytest.raises(MediaSyncEngineError, match="signed_put, boto3, crt"):
        mx.resolve_engine("botocore_internals")  # gone: FastPut's private attributes
    with pytest.raises(MediaSyncEngineError):
        mx.resolve_engine("warp")
    monkeypatch.setattr(mx, "crt_available", lambda: False)
    with pytest.raises(MediaSyncEngineError, match="awscrt"):
        mx.resolve_engine("crt")


@pytest.mark.parametrize("engine", ["boto3", "signed_put"])
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


def test_engine_parts_are_made_once_on_first_use():
    """The CRT manager (and a SignedPut) is made by the first thread that needs it, once, and
    the CRT manager is shut down with the Transfer; a SignedPut is never made for another engine."""
    from concurrent.futures import ThreadPoolExecutor

    made = []

    class Manager:
        shut = 0

        def shutdown(self):
            Manager.shut += 1

    def make_manager():
        made.append(Manager())
        return made[-1]

    transfer = mx.Transfer(None, BUCKET, "images", engine="crt", crt_factory=make_manager)
    with ThreadPoolExecutor(8) as pool:
        managers = set(pool.map(lambda _n: transfer._crt_manager(), range(32)))
    assert managers == {made[0]} and len(made) == 1
    transfer.close()
    assert Manager.shut == 1

    def no_signed_put(_client, _bucket):
        raise AssertionError("made for another engine")

    assert (
        mx.Transfer(None, BUCKET, "images", engine="boto3", signed_put_factory=no_signed_put)._signed_put_sender()
        is None
    )
