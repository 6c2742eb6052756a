"""After playbooks/rollback.yml (run twice): media written on S3 is local, the instance serves
its files itself again, and the bucket lost nothing."""

import json

from moltest import ephemeral_dir, http_get

THEME = "static/css/themes/bookwyrm-light.css"


def keys_before() -> list:
    return json.loads((ephemeral_dir() / "bucket-before-rollback.json").read_text())


def test_media_written_on_s3_is_in_the_volume(target):
    live = [key for key in keys_before() if "testbed-live-" in key]
    assert len(live) >= 5
    local = target.local_media()
    missing = [key for key in live if key.removeprefix("images/") not in local]
    assert not missing, f"not brought down into the media volume: {missing}"


def test_env_is_back_to_local_storage(host, target):
    assert host.file(str(target.instance.env_file)).mode == 0o600
    env = target.env()
    assert env.get("USE_S3", "false") == "false"
    assert not env.get("AWS_SECRET_ACCESS_KEY"), "the secret is still in .env"


def test_one_healthy_web_container(target):
    web = target.containers("web")
    assert len(web) == 1
    assert target.health(web[0]) == "healthy"


def test_page_serves_static_files_and_media_itself(target):
    page = target.page_urls()
    assert page["static"] == "/static/"
    assert page["media"] == "/images/"
    assert target.storage_url not in page["body"]
    status, headers, _ = http_get(f"{target.url}{THEME}")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    live = sorted(key for key in keys_before() if "testbed-live-" in key)
    for key in (sorted(k for k in keys_before() if k.startswith("images/covers/"))[0], live[-1]):
        status, headers, _ = http_get(f"{target.url}{key}")
        assert status == 200, key
        assert headers["Content-Type"] == "image/png", key


def test_nothing_was_deleted_from_the_bucket(target):
    before = set(keys_before())
    now = target.keys("")
    assert before <= now, f"{len(before - now)} objects disappeared, e.g. {sorted(before - now)[:5]}"


def test_report(host, target):
    assert host.file(str(target.report_path)).mode == 0o600
    report = target.report()
    assert report["phases"]["rollback"]["status"] == "ok"
