"""After playbooks/provision.yml and the instance's first start."""

from moltest import ADMIN, CACHE_CONTROL, http_get, secret_key

THEME = "static/css/themes/bookwyrm-light.css"


def test_bucket_and_cors_exist(target):
    client = target.client()
    client.head_bucket(Bucket=target.bucket)
    rules = client.get_bucket_cors(Bucket=target.bucket)["CORSRules"]
    origins = {origin for rule in rules for origin in rule["AllowedOrigins"]}
    # DOMAIN=localhost: BookWyrm serves http://localhost:PORT, and https://localhost is no origin of it
    assert origins == {target.origin}


def test_env_has_the_storage_settings(host, target):
    env_file = host.file(str(target.instance.env_file))
    assert (env_file.mode, env_file.user) == (0o600, ADMIN), "ran as root (become), yet .env is still the admin's"
    env = target.env()
    assert env["USE_S3"] == "true"
    assert env["AWS_STORAGE_BUCKET_NAME"] == target.bucket
    assert env["AWS_S3_ENDPOINT_URL"] == target.s3.endpoint_url
    assert env["AWS_S3_CUSTOM_DOMAIN"] == target.storage_url.split("://", 1)[1]
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_key()


def test_first_start_collected_static_files_into_the_bucket(target):
    static = target.keys("static/")
    assert THEME in static
    assert "static/fonts/testbed-sans.woff" in static
    head = target.client().head_object(Bucket=target.bucket, Key=THEME)
    assert head.get("CacheControl") == CACHE_CONTROL
    assert not target.keys("images/"), "a fresh instance has no media to copy"


def test_one_healthy_web_container(target):
    web = target.containers("web")
    assert len(web) == 1
    assert target.health(web[0]) == "healthy"


def test_page_serves_from_the_bucket(target):
    page = target.page_urls()
    assert page["static"] == f"{target.storage_url}/static/"
    assert page["media"] == f"{target.storage_url}/images/"
    status, headers, _ = http_get(f"{target.storage_url}/{THEME}")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_report(host, target):
    report_file = host.file(str(target.report_path))
    assert report_file.mode == 0o600
    assert secret_key() not in report_file.content_string
