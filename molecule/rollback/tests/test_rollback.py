"""After playbooks/rollback.yml (run twice): media written on S3 is local, the instance serves
its files itself again, and the bucket lost nothing."""

import json

from moltest import ADMIN, ephemeral_dir, http_get, stop_poller

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
    env_file = host.file(str(target.instance.env_file))
    assert (env_file.mode, env_file.user) == (0o600, ADMIN), "ran as root (become), yet .env is still the admin's"
    env = target.env()
    assert env.get("USE_S3", "false") == "false"
    assert not env.get("AWS_SECRET_ACCESS_KEY"), "the secret is still in .env"


def test_one_healthy_web_container(target):
    web = target.containers("web")
    assert len(web) == 1
    assert target.health(web[0]) == "healthy"


def test_page_serves_static_files_and_media_itself(target):
    page = target.page_urls()  # as a logged-in reader: past nginx's cache
    assert page["static"] == "/static/"
    assert page["media"] == "/images/"
    # the landing fragment rendered while on the bucket must be gone too
    assert target.storage_url not in page["body"], "a cached fragment still links the bucket"
    assert page["media_urls"]
    status, headers, _ = http_get(f"{target.url}{THEME}")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    live = sorted(key for key in keys_before() if key.startswith("images/covers/testbed-live-"))  # not thumbnails
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


def test_no_failed_request_during_the_rollback():
    """Issue 12, part 3: >= 10 requests/s on the page and on a media URL over both rollback runs:
    no failed request, no answer other than 2xx, none slower than 2 s."""
    summary = stop_poller()
    print(
        f"\npoller: {summary['requests']} requests over {summary['seconds']:.1f}s ({summary['rate']}/s), "
        f"slowest {summary['slowest']}, {summary['failed']} failed {summary['failures'][:5]}"
    )
    assert summary["cookie"] and set(summary["rate"]) == {"page", "media"}, summary
    assert all(rate >= 10 for rate in summary["rate"].values()), summary["rate"]
    assert summary["failed"] == 0, f"{summary['failed']} failed requests: {summary['failures'][:10]}"
    assert set(summary["statuses"]) == {"200"}, summary["statuses"]
    assert summary["slowest"]["seconds"] < 2, summary["slowest"]


def test_every_export_is_back_in_the_volume_and_downloads_from_the_instance(target):
    local = target.local_exports()
    assert len(local) >= 3, f"two exports made before the migration and one on S3; the volume holds {sorted(local)}"
    for archive_id in (1, 3):  # before the migration; made while on S3 (only in the bucket then)
        status, body, where = target.download_export(archive_id)
        assert status == 200, (archive_id, status, where)
        assert json.loads(body)["testbed_export"] == archive_id
        assert where.startswith(target.url), f"export {archive_id} came from {where}, not from the instance"
