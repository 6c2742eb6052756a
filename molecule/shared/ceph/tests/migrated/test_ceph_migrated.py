"""After playbooks/migrate.yml (run twice) with the ceph profile on the bed's Ceph RGW: the page
serves static files and media from the bucket, which RGW makes readable by the scenario's means
(a scoped policy, or each object's ACL) and nothing else: no anonymous listing, exports/ private,
CORS for the instance's origin only."""

import hashlib
import json

import pytest
from botocore.exceptions import ClientError
from moltest import ephemeral_dir, http_get

THEME = "static/css/themes/bookwyrm-light.css"
FONT = "static/css/fonts/testbed-sans.woff"
LOGO = "static/images/logo-small.png"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
OTHER_ORIGIN = "http://localhost:8179"  # a port no instance of these scenarios serves


def media_before() -> list:
    return json.loads((ephemeral_dir() / "media-before-migrate.json").read_text())


def public_grants(target, key: str) -> set:
    grants = target.client().get_object_acl(Bucket=target.bucket, Key=key)["Grants"]
    return {grant["Permission"] for grant in grants if grant["Grantee"].get("URI") == ALL_USERS}


@pytest.fixture
def probe(target):
    """Put objects as the owner, without an ACL unless given; removed afterwards."""
    client, keys = target.client(), []

    def put(key, **extra):
        client.put_object(Bucket=target.bucket, Key=key, Body=b"probe\n", ContentType="text/plain", **extra)
        keys.append(key)
        return f"{target.storage_url}/{key}"

    yield put
    for key in keys:
        client.delete_object(Bucket=target.bucket, Key=key)


def test_page_serves_static_and_media_from_the_bucket(target):
    page = target.page_urls()  # as a logged-in reader: past nginx's cache
    assert page["static"] == f"{target.storage_url}/static/"
    assert page["media"] == f"{target.storage_url}/images/"
    assert f'href="{target.storage_url}/{THEME}"' in page["body"]
    stale = [url for url in page["media_urls"] if not url.startswith(f"{target.storage_url}/images/")]
    assert page["media_urls"] and not stale, f"media URLs not on the bucket: {stale[:3]}"
    for url, content_type in ((f"{target.storage_url}/{THEME}", "text/css"), (page["media_urls"][0], "image/")):
        status, headers, _ = http_get(url)  # anonymous, as a reader's browser
        assert status == 200, url
        assert headers.get("Content-Type", "").startswith(content_type), (url, headers.get("Content-Type"))


def test_every_local_media_file_is_in_the_bucket_unchanged(target):
    before = media_before()
    keys = target.keys("images/")
    missing = [path for path in before if f"images/{path}" not in keys]
    assert len(before) >= 420 and not missing, f"{len(missing)} of {len(before)} not in the bucket: {missing[:5]}"
    client, root = target.client(), target.media_dir
    for path in before[:: max(1, len(before) // 25)]:  # a sample: ETag is the MD5 of a single-part upload
        etag = client.head_object(Bucket=target.bucket, Key=f"images/{path}")["ETag"].strip('"')
        assert etag == hashlib.md5((root / path).read_bytes()).hexdigest(), path  # noqa: S324 - S3's ETag


def test_static_and_media_are_public_by_the_scenarios_means_only(target, public_access):
    keys = (THEME, FONT, LOGO, sorted(target.keys("images/covers/"))[0], sorted(target.keys("images/thumbnails/"))[0])
    for key in keys:
        status, _, _ = http_get(f"{target.storage_url}/{key}")
        assert status == 200, f"{key} answered {status} to an anonymous GET"
    client = target.client()
    if public_access == "acl":
        with pytest.raises(ClientError) as err:
            client.get_bucket_policy(Bucket=target.bucket)
        assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
        # collectstatic (static), media_sync (copied media) and django-storages (new media) set it
        grants = {key: public_grants(target, key) for key in keys}
        assert all(granted == {"READ"} for granted in grants.values()), grants
    else:
        policy = json.loads(client.get_bucket_policy(Bucket=target.bucket)["Policy"])
        resources = {res for statement in policy["Statement"] for res in statement["Resource"]}
        assert resources == {f"arn:aws:s3:::{target.bucket}/static/*", f"arn:aws:s3:::{target.bucket}/images/*"}


def test_an_object_without_acl(target, public_access, probe):
    """The proof that the ACL (or the policy) is what opens them: an object under images/ put with
    no ACL is private on the ACL run, and readable all the same under the policy."""
    url = probe("images/covers/mol-ceph-probe-no-acl.txt")
    assert not public_grants(target, "images/covers/mol-ceph-probe-no-acl.txt")
    status, _, _ = http_get(url)
    assert status == (403 if public_access == "acl" else 200), f"an object without an ACL answered {status}"


def test_exports_are_private(target, probe):
    url = probe("exports/mol-ceph-probe.csv", ACL="private")  # as BookWyrm's export storage writes them
    status, _, _ = http_get(url)
    assert status == 403, f"exports/ answered {status} to an anonymous GET"


def test_anonymous_listing_is_refused(target):
    with pytest.raises(ClientError) as err:
        target.anonymous_client().list_objects_v2(Bucket=target.bucket)
    assert err.value.response["Error"]["Code"] in {"AccessDenied", "403"}
    status, _, _ = http_get(f"{target.storage_url}/")
    assert status == 403


def test_cors_answers_the_instances_origin_only(target):
    rules = target.client().get_bucket_cors(Bucket=target.bucket)["CORSRules"]
    assert {origin for rule in rules for origin in rule["AllowedOrigins"]} == {target.origin}
    font = f"{target.storage_url}/{FONT}"
    for origin, allowed in ((target.origin, True), (OTHER_ORIGIN, False)):
        preflight = {"Origin": origin, "Access-Control-Request-Method": "GET"}
        status, headers, _ = http_get(font, headers=preflight, method="OPTIONS")
        assert status == (200 if allowed else 403), (origin, status)
        assert headers.get("Access-Control-Allow-Origin") == (origin if allowed else None), (origin, headers)
        status, headers, _ = http_get(font, headers={"Origin": origin})
        assert status == 200
        assert headers.get("Access-Control-Allow-Origin") == (origin if allowed else None), (origin, headers)


def test_env_points_at_rgw(target):
    env = target.env()
    assert env["USE_S3"] == "true"
    assert env["AWS_STORAGE_BUCKET_NAME"] == target.bucket
    assert env["AWS_S3_ENDPOINT_URL"] == target.s3.endpoint_url
    assert env["AWS_S3_CUSTOM_DOMAIN"] == target.storage_url.split("://", 1)[1]
    assert env["AWS_DEFAULT_ACL"] == "public-read"


def test_report(target, public_access):
    report = target.report()
    assert all(phase["status"] == "ok" for phase in report["phases"].values()), report["phases"]
    assert report["phases"]["bucket"]["public_access"] == public_access
