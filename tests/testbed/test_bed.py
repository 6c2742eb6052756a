"""The test bed itself: a real S3 server with auth, and a stand-in instance that serves its
static files and media locally, then from the bucket once switched over by hand."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import bookwyrm_testbed as bed
import botocore.exceptions
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._compose import ComposeInstance

pytestmark = pytest.mark.testbed


@pytest.fixture(scope="module")
def instance(s3_server):
    created = bed.create_instance("standin-bedcheck", http_port=8130)
    created.up()
    if bed.media_count(created) == 0:
        bed.seed(created, 5, 2, 2)
    yield created
    bed.destroy_instance("standin-bedcheck")


def served(url):
    status, headers, body = bed.http_get(url)
    return status, headers.get("Content-Type", ""), body


def page_urls(html):
    static = re.search(r'name="bookwyrm-static-url" content="([^"]+)"', html).group(1)
    media = re.search(r'name="bookwyrm-media-url" content="([^"]+)"', html).group(1)
    css = re.search(r'<link href="([^"]+)" rel="stylesheet"', html).group(1)
    cover = re.search(r'<img class="book-cover" src="([^"]+)"', html).group(1)
    return static, media, css, cover


# A logged-in reader's session cookie: BookWyrm's nginx neither caches nor serves from its cache.
SESSION = {"Cookie": "sessionid=testbed-reader"}
POLLER = bed.REPO_DIR / "molecule" / "shared" / "poller.py"


def fresh_page(instance):
    """The page as a logged-in reader gets it (past nginx's cache of anonymous pages)."""
    status, _, body = bed.http_get(instance.url, headers=SESSION)
    assert status == 200, f"{instance.url} answered {status}"
    return body.decode()


def run_command(argv, cwd=None, data=None):
    """AnsibleModule.run_command's contract, for the collection's compose driver."""
    done = subprocess.run(argv, cwd=cwd, input=data, capture_output=True, text=True, check=False, timeout=600)
    return done.returncode, done.stdout, done.stderr


def compose_instance(instance):
    """The collection's compose driver (what bookwyrm.s3.instance runs) on the bed's instance."""
    return ComposeInstance(run_command, str(instance.directory), project_name=instance.name)


def clear_caches(instance):
    """What the role does after a restart: drop cached template fragments and nginx's pages."""
    return compose_instance(instance).clear_caches()


def redis_activity(instance, *args):
    return instance.compose(
        "exec", "-T", "redis_activity", "sh", "-c", 'redis-cli -a "$REDIS_ACTIVITY_PASSWORD" --no-auth-warning "$@"',
        "redis-cli", *args,
    ).stdout  # fmt: skip


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
    html = fresh_page(instance)
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
        instance.up()
        clear_caches(instance)  # the landing fragment still holds the local cover URLs
        static, media, css, cover = page_urls(fresh_page(instance))
        assert static == f"http://{host}/{bucket}/static/"
        assert media == f"http://{host}/{bucket}/images/"
        assert css.startswith(static) and cover.startswith(media)
        assert served(css)[:2] == (200, "text/css")
        assert served(static + "fonts/testbed-sans.woff")[:2] == (200, "font/woff")
        assert served(static + "css/fonts/testbed-sans.woff")[:2] == (200, "font/woff")
        assert served(static + "images/logo-small.png")[:2] == (200, "image/png")
        status, ctype, body = served(cover)
        assert status == 200 and ctype == "image/png" and body.startswith(b"\x89PNG")
        head = client.head_object(Bucket=bucket, Key="static/css/themes/bookwyrm-light.css")
        assert head["CacheControl"] == "max-age=86400"
        # the listing stays private, and so does anything outside static/ and images/
        assert bed.http_get(f"{s3_server.endpoint_url}/{bucket}")[0] == 403
    finally:
        instance.env_file.write_text(before)
        instance.up()
        clear_caches(instance)
        assert page_urls(fresh_page(instance))[0] == "/static/"


def test_celery_writes_media_on_demand(instance):
    before = bed.media_count(instance)
    instance.manage("write_media", "--count", "2", "--interval", "0.1")
    bed.wait_until(lambda: bed.media_count(instance) >= before + 2, 60, "the celery worker to write media")


def test_testbed_up_twice_keeps_one_of_each(s3_server):
    """`make test`'s own bed: `testbed up --no-instance`, twice, leaves one of each server and host
    and starts no default instance (every suite makes its own; `make demo` starts the default)."""
    if s3_server.external:
        pytest.skip("S3_ENDPOINT_URL points at another server")
    had_default = (bed.instances_dir() / bed.DEFAULT_INSTANCE).exists()
    for attempt in range(2):
        result = subprocess.run(
            ["bash", str(bed.REPO_DIR / "testbed" / "bin" / "testbed"), "up", "--no-instance"],
            capture_output=True,
            text=True,
        )
        # what testbed said, should it fail (a CalledProcessError showed nothing of it)
        assert result.returncode == 0, (attempt, result.stdout[-2000:], result.stderr[-4000:])
    names = bed.docker("ps", "--format", "{{.Names}}").stdout.split()
    for container in (bed.S3_CONTAINER, f"{bed.IMAGE_PREFIX}-rgw", f"{bed.IMAGE_PREFIX}-dockerless"):
        assert names.count(container) == 1, (container, names)
    if not had_default:  # the default instance's services: bookwyrm-web-1 and so on
        services = ("web", "celery_worker", "db", "redis_broker", "nginx")
        assert not [n for n in names for s in services if n.startswith(f"{bed.DEFAULT_INSTANCE}-{s}-")], names


# --- BookWyrm v0.9.2 as measured (issue 10): the stand-in must behave the same ------------


def test_layout_links_static_images(instance):
    """Every BookWyrm page links logo.png, logo-small.png and favicon.ico under STATIC_URL."""
    html = fresh_page(instance)
    for name, ctype in (("logo.png", "image/png"), ("logo-small.png", "image/png"), ("favicon.ico", "image/")):
        assert f'"/static/images/{name}"' in html, name
        status, got, _ = served(absolute(instance, f"/static/images/{name}"))
        assert status == 200 and got.startswith(ctype), (name, status, got)


def test_theme_imports_the_vendor_stylesheet_that_holds_the_fonts(instance):
    _, _, css_url, _ = page_urls(fresh_page(instance))
    status, _, css = served(absolute(instance, css_url))
    assert status == 200
    css = css.decode()
    assert re.search(r"""@import\s+(url\()?["']?\.\./vendor/icons\.css""", css), css[:300]
    assert ".woff" not in css, "the theme itself must not hold the font URL (BookWyrm's does not)"
    status, _, vendor = served(absolute(instance, "/static/css/vendor/icons.css"))
    assert status == 200
    font = re.search(r"url\(['\"]?\.\./fonts/([^'\")?#]+\.woff)", vendor.decode()).group(1)
    assert served(absolute(instance, f"/static/css/fonts/{font}"))[:2] == (200, "font/woff")


def test_landing_fragment_is_cached_in_redis_activity_across_restarts(instance):
    """{% cache 3600 landing LANGUAGE_CODE %} on redis_activity, which app restarts do not recreate."""
    services = set(instance.compose("ps", "--services").stdout.split())
    assert "redis_activity" in services
    fresh_page(instance)
    keys = redis_activity(instance, "--scan", "--pattern", "*template.cache.landing*").split()
    assert keys, "the landing page's book list is not cached in redis_activity"
    ttl = int(redis_activity(instance, "ttl", keys[0]).strip())
    assert 3000 < ttl <= 3600, ttl
    before = instance.compose("ps", "-q", "redis_activity").stdout.strip()
    instance.compose("up", "-d", "--no-deps", "--force-recreate", "web", "celery_worker")
    instance.wait_healthy()
    assert instance.compose("ps", "-q", "redis_activity").stdout.strip() == before
    assert redis_activity(instance, "exists", keys[0]).strip() == "1", "a restart of web dropped the fragment"


def test_a_new_cover_shows_only_once_the_fragment_is_cleared(instance):
    """Rendered fragments keep the URLs they were rendered with; the role's cache clear drops them."""
    fresh_page(instance)
    redis_activity(instance, "set", "django_cache:1:testbed-not-a-fragment", "kept")
    # the healthcheck renders the landing page every 3 s: a marker fragment tells what the clear did
    redis_activity(instance, "set", "django_cache:1:template.cache.testbed-marker.0", "rendered before")
    out = clear_caches(instance)
    assert out["fragments_cleared"] >= 1, out
    assert redis_activity(instance, "exists", "django_cache:1:template.cache.testbed-marker.0").strip() == "0"
    assert redis_activity(instance, "get", "django_cache:1:testbed-not-a-fragment").strip() == "kept", (
        "clearing fragments must not flush the activity streams and sessions that share the redis"
    )
    assert clear_caches(instance)["fragments_cleared"] >= 0  # idempotent: nothing to clear is fine


def test_nginx_is_configured_like_upstreams(instance):
    version = instance.compose("exec", "-T", "nginx", "nginx", "-v").stderr
    major, minor = map(int, re.search(r"nginx/(\d+)\.(\d+)", version).groups())
    assert (major, minor) >= (1, 25), version
    conf = instance.compose("exec", "-T", "nginx", "nginx", "-T").stdout
    assert re.search(r"upstream web\s*{\s*server web:8000;", conf)
    assert not re.search(r"^\s*resolver\s", conf, re.M), "upstream's nginx has no resolver: it learns web on reload"
    assert "http2 on;" in conf
    assert "auth_request" in conf
    assert "proxy_cache_valid any 1m;" in conf


def test_nginx_caches_anonymous_pages_and_sessions_bypass_it(instance):
    url = instance.url + "?cache-probe=" + uuid.uuid4().hex
    first, second = bed.http_get(url), bed.http_get(url)
    assert first[1].get("X-Cache-Status") == "MISS", first[1]
    assert second[1].get("X-Cache-Status") == "HIT", second[1]
    logged_in = bed.http_get(url, headers=SESSION)
    assert logged_in[1].get("X-Cache-Status") == "BYPASS", logged_in[1]


def test_clearing_caches_drops_nginx_cached_pages(instance):
    """A page nginx cached with the old storage URLs is asked of web again once cleared."""
    url = instance.url + "?cache-probe=" + uuid.uuid4().hex

    def cache_status():
        return bed.http_get(url)[1].get("X-Cache-Status")

    assert cache_status() == "MISS"
    # nginx moves the page into its cache as the answer ends: on a loaded host the next request
    # can come first
    bed.wait_until(lambda: cache_status() == "HIT", 10, "the page cached")
    out = clear_caches(instance)
    assert out["pages_cleared"].get("/var/cache/nginx/bookwyrm_cache", 0) >= 1, out
    assert cache_status() == "MISS"
    bed.wait_until(lambda: cache_status() == "HIT", 10, "the page cached again")


def test_every_page_goes_through_the_anubis_stub(instance):
    assert "anubis" in set(instance.compose("ps", "--services").stdout.split())
    instance.compose("stop", "anubis")
    try:
        try:
            status = bed.http_get(instance.url, headers=SESSION, timeout=3)[0]
        except OSError:  # nginx still tries the stopped container's address: no answer at all
            status = None
        assert status is None or status >= 500, f"the page answered {status} without its auth_request service"
        assert served(absolute(instance, "/static/images/logo.png"))[0] == 200, "static files skip anubis"
    finally:
        instance.compose("start", "anubis")
        # like web, anubis is a static upstream: nginx learns its (new) address on reload
        instance.compose("exec", "-T", "nginx", "nginx", "-s", "reload")
    bed.wait_until(lambda: bed.http_get(instance.url, headers=SESSION)[0] == 200, 60, "the page with anubis back")


def test_database_is_utf8(instance):
    encoding = instance.compose(
        "exec", "-T", "db", "sh", "-c", 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -c "show server_encoding"'
    ).stdout.strip()
    assert encoding == "UTF8"


def test_urls_are_http_and_localhost_port_only_for_localhost(instance):
    env = instance.read_env()
    assert "USE_HTTPS" not in instance.env_file.read_text(), "BookWyrm has no USE_HTTPS setting"
    assert env["DOMAIN"] == "localhost" and env["PORT"] == str(instance.http_port)
    base = re.search(r'name="bookwyrm-base-url" content="([^"]+)"', fresh_page(instance)).group(1)
    assert base == f"http://localhost:{instance.http_port}"
    probe = instance.compose(
        "exec", "-T", "-e", "DOMAIN=books.example.com", "web", "python", "-c",
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'bookwyrm.settings'); django.setup();"
        "from django.conf import settings; print(settings.BASE_URL, settings.STATIC_URL)",
    ).stdout.split()  # fmt: skip
    assert probe[0] == "https://books.example.com"


def test_cover_thumbnails_like_bookwyrms(instance):
    html = fresh_page(instance)
    assert re.search(r'srcset="/images/thumbnails/[^"]+\.(webp|jpg)"', html), "no thumbnail srcset on the page"
    listing = bed.docker(
        "run", "--rm", "-v", f"{instance.volume('media')}:/m:ro", "--entrypoint", "sh",
        f"{bed.IMAGE_PREFIX}/web:latest", "-c", "find /m/thumbnails -type f | wc -l",
    ).stdout  # fmt: skip
    assert int(listing.strip()) > 0


def poll(instance, out: Path, seconds_max=300):
    """The migrate scenario's poller, as a logged-in reader: the page and one media URL."""
    return subprocess.Popen(
        [sys.executable, str(POLLER), "--url", instance.url, "--media-url",
         instance.url + "images/covers/testbed-cover-0001.png", "--cookie", "sessionid=testbed-reader",
         "--rate", "12", "--out", str(out), "--max-seconds", str(seconds_max)],
    )  # fmt: skip


def stop_poll(proc, out: Path) -> dict:
    (out / "stop").touch()
    proc.wait(timeout=120)  # a loaded machine (CI) may take a while to schedule it
    return json.loads((out / "poll.json").read_text())


def test_rolling_restart_drops_no_request(instance, tmp_path):
    """Issue 12, part 3: the role's restart against upstream's nginx (static upstream, no resolver)."""
    out = tmp_path / "poll"
    proc = poll(instance, out)
    bed.wait_until(lambda: (out / "poll.json").exists(), 120, "the poller")
    time.sleep(2)
    try:
        before = compose_instance(instance).web_ids()
        result = compose_instance(instance).rolling_restart(health_timeout=120)
        time.sleep(3)
    finally:
        summary = stop_poll(proc, out)
    assert result["proxy_pinned"] and result["retired"] == [cid[:12] for cid in before], result
    assert result["warnings"] == [], result
    assert "celery_worker" in result["recreated"] and "db" not in result["recreated"], result
    print(json.dumps({k: summary[k] for k in ("requests", "rate", "slowest", "statuses")}))
    assert summary["rate"]["page"] >= 10 and summary["rate"]["media"] >= 10, summary["rate"]
    assert not summary["failures"], summary["failures"][:10]
    assert summary["slowest"]["seconds"] < 2, summary["slowest"]
