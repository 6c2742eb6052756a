"""The test bed itself: a real S3 server with auth, and a stand-in instance that serves its
static files and media locally, then from the bucket once switched over by hand."""

import json
import os
import re
import subprocess
import uuid

import bookwyrm_testbed as bed
import botocore.exceptions
import pytest

pytestmark = pytest.mark.testbed


@pytest.fixture(scope="module")
def instance(s3_server):
    created = bed.create_instance("bedcheck", http_port=8091)
    created.up()
    if bed.media_count(created) == 0:
        bed.seed(created, 5, 2, 2)
    yield created
    bed.destroy_instance("bedcheck")


def served(url):
    status, headers, body = bed.http_get(url)
    return status, headers.get("Content-Type", ""), body


def page_urls(html):
    static = re.search(r'name="bookwyrm-static-url" content="([^"]+)"', html).group(1)
    media = re.search(r'name="bookwyrm-media-url" content="([^"]+)"', html).group(1)
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    cover = re.search(r'<img class="book-cover" src="([^"]+)"', html).group(1)
    return static, media, css, cover


def absolute(instance, url):
    return url if url.startswith("http") else instance.url.rstrip("/") + url


def test_s3_auth_is_enforced(s3_server):
    good = s3_server.client()
    good.list_buckets()
    for client, code in (
        (s3_server.client(secret_key="wrong-" + s3_server.secret_key), "SignatureDoesNotMatch"),
        (s3_server.client(access_key="unknown-key"), "InvalidAccessKeyId"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.list_buckets()
        assert refused.value.response["Error"]["Code"] == code
    status = bed.http_get(s3_server.endpoint_url + "/")[0]
    assert status == 403, "anonymous requests must be refused"


def test_s3_listens_on_loopback_only(s3_server):
    if s3_server.external:
        pytest.skip("S3_ENDPOINT_URL points at another server")
    ports = bed.docker("port", bed.S3_CONTAINER).stdout.split()
    assert ports and all(p.startswith("127.0.0.1:") for p in ports if ":" in p)


def test_instance_is_healthy_with_bookwyrm_layout(instance):
    assert instance.container_health("web") == "healthy"
    services = set(instance.compose("ps", "--services").stdout.split())
    assert {"web", "celery_worker", "db", "redis_broker", "nginx"} <= services
    volumes = bed.docker("volume", "ls", "-q").stdout.split()
    for kind in ("static", "media", "exports"):
        assert instance.volume(kind) in volumes
    connectors = instance.compose(
        "exec", "-T", "db", "sh", "-c",
        'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -c '
        '"select id, connector_file from bookwyrm_connector order by id"',
    ).stdout.split()  # fmt: skip
    assert connectors[0] == "1|bookwyrm_connector", "connector 1 is a remote one, as upstream"


def test_page_served_locally_without_s3(instance):
    html = instance.page()
    static, media, css, cover = page_urls(html)
    assert (static, media) == ("/static/", "/images/")
    assert served(absolute(instance, css))[:2] == (200, "text/css")
    status, ctype, body = served(absolute(instance, cover))
    assert status == 200 and ctype == "image/png" and body.startswith(b"\x89PNG")
    font = absolute(instance, "/static/fonts/testbed-sans.woff")
    assert served(font)[:2] == (200, "font/woff")


def public_read_policy(bucket):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TestbedPublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{bucket}/static/*", f"arn:aws:s3:::{bucket}/images/*"],
        }],
    })  # fmt: skip


def test_page_served_from_bucket_after_switch_by_hand(instance, s3_server):
    """What the role automates, done by hand: bucket, copy, .env, static, restart."""
    bucket = f"bedcheck-{uuid.uuid4().hex[:8]}"
    client = s3_server.client()
    client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    before = instance.env_file.read_text()
    host = s3_server.endpoint_url.split("://", 1)[1]
    try:
        # media copy by hand with the web image's own boto3; credentials travel as env, not argv
        subprocess.run(
            ["docker", "compose", "exec", "-T", "-e", "E", "-e", "B", "-e", "K", "-e", "S", "web", "python", "-c",
             "import os, boto3\n"
             "c = boto3.client('s3', endpoint_url=os.environ['E'], aws_access_key_id=os.environ['K'],"
             " aws_secret_access_key=os.environ['S'], region_name='us-east-1')\n"
             "for d, _, fs in os.walk('/app/images'):\n"
             "    for f in fs:\n"
             "        p = os.path.join(d, f)\n"
             "        c.upload_file(p, os.environ['B'], 'images/' + os.path.relpath(p, '/app/images'),"
             " ExtraArgs={'ContentType': 'image/png'})\n"],
            cwd=instance.directory, check=True, capture_output=True,
            env={**os.environ, "E": s3_server.endpoint_url, "B": bucket,
                 "K": s3_server.access_key, "S": s3_server.secret_key},
        )  # fmt: skip
        instance.set_env(
            USE_S3="true",
            AWS_ACCESS_KEY_ID=s3_server.access_key,
            AWS_SECRET_ACCESS_KEY=s3_server.secret_key,
            AWS_STORAGE_BUCKET_NAME=bucket,
            AWS_S3_REGION_NAME=s3_server.region,
            AWS_S3_ENDPOINT_URL=s3_server.endpoint_url,
            AWS_S3_CUSTOM_DOMAIN=f"{host}/{bucket}",
        )
        instance.compose(
            "run",
            "--rm",
            "--no-deps",
            "web",
            "sh",
            "-c",
            "python manage.py compile_themes && python manage.py collectstatic --no-input",
        )
        instance.compose("up", "-d")
        instance.wait_healthy()
        static, media, css, cover = page_urls(instance.page())
        assert static == f"http://{host}/{bucket}/static/"
        assert media == f"http://{host}/{bucket}/images/"
        assert css.startswith(static) and cover.startswith(media)
        assert served(css)[:2] == (200, "text/css")
        assert served(static + "fonts/testbed-sans.woff")[:2] == (200, "font/woff")
        status, ctype, body = served(cover)
        assert status == 200 and ctype == "image/png" and body.startswith(b"\x89PNG")
        head = client.head_object(Bucket=bucket, Key="static/css/themes/bookwyrm-light.css")
        assert head["CacheControl"] == "max-age=86400"
        # the listing stays private, and so does anything outside static/ and images/
        assert bed.http_get(f"{s3_server.endpoint_url}/{bucket}")[0] == 403
    finally:
        instance.env_file.write_text(before)
        instance.compose("up", "-d")
        instance.wait_healthy()
        assert page_urls(instance.page())[0] == "/static/"


def test_celery_writes_media_on_demand(instance):
    before = bed.media_count(instance)
    instance.manage("write_media", "--count", "2", "--interval", "0.1")
    bed.wait_until(lambda: bed.media_count(instance) >= before + 2, 60, "the celery worker to write media")


def test_testbed_up_twice_keeps_one_of_each(s3_server):
    if s3_server.external:
        pytest.skip("S3_ENDPOINT_URL points at another server")
    for _attempt in range(2):
        subprocess.run(
            ["bash", str(bed.REPO_DIR / "testbed" / "bin" / "testbed"), "up"], check=True, capture_output=True
        )
    names = bed.docker("ps", "--format", "{{.Names}}").stdout.split()
    assert names.count(bed.S3_CONTAINER) == 1
    for service in ("web", "celery_worker", "db", "redis_broker", "nginx"):
        assert sum(1 for n in names if n.startswith(f"bookwyrm-{service}-")) == 1, names
