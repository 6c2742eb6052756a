"""engine=signed_put's request against the bed's real servers, SeaweedFS and Ceph RGW (which
enforces ACLs): every PUT goes through the signed path itself (no fallback to put_object), each
object arrives whole with its type, cache header and ACL, and a wrong secret is refused (the
servers check the signature, so a success means it was right)."""

import uuid

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_transfer as mx
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile

pytestmark = pytest.mark.testbed
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
SERVERS_THAT_KEEP_ACLS = ("rgw_server",)  # SeaweedFS answers any object's ACL with its owner's alone


def _credentials(server, secret=None):
    session = boto3.session.Session(
        aws_access_key_id=server.access_key, aws_secret_access_key=secret or server.secret_key
    )
    return session.get_credentials()


@pytest.mark.parametrize("server_fixture", ["s3_server", "rgw_server"], ids=["seaweedfs", "ceph-rgw"])
def test_signed_put_on_real_servers(request, tmp_path, server_fixture):
    server = request.getfixturevalue(server_fixture)
    client = server.client()
    bucket = f"signed-put-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    made = []

    def factory(s3_client, name):
        made.append(mx.make_signed_put(s3_client, name, _credentials(server)))
        return made[-1]

    files = {"covers/ü a+b.jpg": b"\xff\xd8jpeg" * 500, "avatars/a.png": b"\x89PNG", "covers/empty.webp": b""}
    try:
        transfer = mx.Transfer(
            client, bucket, "images", engine="signed_put", signed_put_factory=factory, acl="public-read"
        )
        for rel, body in files.items():
            path = tmp_path / rel.replace("/", "_")
            path.write_bytes(body)
            transfer.upload(LocalFile(rel, str(path), len(body)))
        assert made and made[0] is not None, "signed_put could not be set up for this server"
        assert made[0].misses == 0 and made[0].enabled, "a PUT fell back to put_object"
        for rel, body in files.items():
            answer = client.get_object(Bucket=bucket, Key=f"images/{rel}")
            assert answer["Body"].read() == body, rel
            assert answer["ContentType"] == mx.content_type(rel), rel
            assert answer.get("CacheControl") == "max-age=86400", rel
            if server_fixture not in SERVERS_THAT_KEEP_ACLS:
                continue
            grants = client.get_object_acl(Bucket=bucket, Key=f"images/{rel}")["Grants"]
            assert any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ" for g in grants), rel

        forged = mx.SignedPut(client, bucket, _credentials(server, secret="not-the-secret"))  # noqa: S106 - a wrong one
        assert forged.put("images/forged.jpg", b"x", {"Content-Type": "image/jpeg"}) is False
        assert "images/forged.jpg" not in {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}
    finally:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
        client.delete_bucket(Bucket=bucket)
