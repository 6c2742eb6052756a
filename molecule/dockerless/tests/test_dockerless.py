"""The dockerless scenario, verified twice: after playbooks/migrate.yml (run twice), then after
the audit and playbooks/rollback.yml (run twice). The poller runs through all of it."""

import json
import time

import dockerless
import pytest
from moltest import ephemeral_dir, secret_key

INSTANCE_DIR = dockerless.INSTANCE_DIR
THEME = "static/css/themes/bookwyrm-light.css"
FONT = "static/css/fonts/testbed-sans.woff"
LOGO = "static/images/logo-small.png"
# What the role may leave in the checkout as root: its report and the copy's progress file.
# media_sync's progress file (the module, run as root, writes it); the role's own files (report,
# bucket history) belong to whoever owns .env.
ROLE_FILES = {f"{INSTANCE_DIR}/.bookwyrm-s3-progress.json"}


@pytest.fixture
def migrated(rolled_back):
    if rolled_back:
        pytest.skip("the migration's state, checked before the rollback")


@pytest.fixture
def after_rollback(rolled_back):
    if not rolled_back:
        pytest.skip("checked after the rollback (side_effect)")


def poller_summary(stop: bool) -> dict:
    directory = ephemeral_dir() / "poller"
    if stop:
        (directory / "stop").touch()
    deadline = time.monotonic() + 20
    summary = json.loads((directory / "poll.json").read_text())
    while stop and not summary["finished"] and time.monotonic() < deadline:
        time.sleep(0.3)
        summary = json.loads((directory / "poll.json").read_text())
    print(
        f"\npoller: {summary['requests']} requests over {summary['seconds']:.1f}s ({summary['rate']}/s), "
        f"slowest {summary['slowest']}, {summary['failed']} failed {summary['failures'][:5]}, "
        f"{len(summary['slow'])} slower than 1s {summary['slow'][:5]}, longest gap {summary['longest_gap']}"
    )
    return summary


def assert_no_failed_request(summary):
    assert summary["cookie"] and set(summary["rate"]) == {"page", "media"}, summary
    assert all(rate >= 4.5 for rate in summary["rate"].values()), summary["rate"]  # polled at 5/s (prepare.yml)
    assert summary["failed"] == 0, f"{summary['failed']} failed requests: {summary['failures'][:10]}"
    assert set(summary["statuses"]) == {"200"}, summary["statuses"]


def stat(path: str) -> tuple:
    return tuple(dockerless.sh(f"stat -c '%U %G %a' {path}").stdout.split())


def units_started_after_env() -> dict:
    """Each unit's main process started after .env was last written?"""
    script = (
        f"env=$(stat -c %Y {INSTANCE_DIR}/.env); for u in {' '.join(dockerless.UNITS)}; do "
        'ts=$(systemctl show -p ActiveEnterTimestamp --value $u); echo $u $(( $(date -d "$ts" +%s) >= env )); done'
    )
    return {line.split()[0]: line.split()[1] == "1" for line in dockerless.sh(script).stdout.splitlines()}


# -- after the migration -------------------------------------------------------------------


def test_bucket_holds_static_files_and_every_local_media_file(migrated, target):
    static, images = target.keys("static/"), target.keys("images/")
    assert {THEME, FONT, LOGO} <= static, "compile_themes + collectstatic did not fill the bucket"
    local = target.local_media()
    assert len(local) >= 680
    missing = sorted(path for path in local if f"images/{path}" not in images)
    assert not missing, f"{len(missing)} local media files not in the bucket, e.g. {missing[:5]}"
    live = {path for path in local if "testbed-live-" in path}
    assert live, "the worker wrote nothing during the run: the sync after the restart proves nothing"


def test_env_keeps_its_owner_and_mode(migrated, target):
    assert stat(f"{INSTANCE_DIR}/.env") == ("bookwyrm", "bookwyrm", "600")
    assert stat(f"{INSTANCE_DIR}/.env.before-s3") == ("bookwyrm", "bookwyrm", "600")
    env = target.env()
    assert env["USE_S3"] == "true" and env["AWS_STORAGE_BUCKET_NAME"] == target.bucket
    assert env["AWS_SECRET_ACCESS_KEY"] == secret_key()


def test_nothing_in_the_checkout_became_roots(migrated):
    """compile_themes and collectstatic ran as the instance's user: the theme CSS they wrote is its."""
    script = f"find {INSTANCE_DIR} -xdev -user root -not -path '{INSTANCE_DIR}/venv/*'"
    found = set(dockerless.sh(script).stdout.split())
    assert found <= ROLE_FILES, f"owned by root: {sorted(found - ROLE_FILES)[:10]}"
    assert stat(f"{INSTANCE_DIR}/bookwyrm/static/css/themes/bookwyrm-light.css")[0] == "bookwyrm"


def test_gunicorn_reloaded_gracefully_and_the_other_units_restarted(migrated):
    master = (ephemeral_dir() / "gunicorn-master.pid").read_text().strip()
    now = dockerless.sh("systemctl show -p MainPID --value bookwyrm.service").stdout.strip()
    assert now == master, "bookwyrm.service was restarted, not reloaded (SIGHUP)"
    assert dockerless.units_active() == dict.fromkeys(dockerless.UNITS, "active")
    started = units_started_after_env()
    assert started["bookwyrm-worker.service"] and started["bookwyrm-scheduler.service"], started


def test_page_serves_static_and_media_from_the_bucket(migrated, target):
    page = target.page_urls()
    assert page["static"] == f"{target.storage_url}/static/"
    assert page["media"] == f"{target.storage_url}/images/"
    assert f'href="{target.storage_url}/{THEME}"' in page["body"]
    stale = [url for url in page["media_urls"] if not url.startswith(f"{target.storage_url}/images/")]
    assert page["media_urls"] and not stale, f"{len(stale)} media URLs still local (a cached fragment?)"


def test_report(migrated, target):
    assert stat(str(target.report_path))[2] == "600"
    report = target.report()
    assert report["phases"]["preflight"]["install"] == "dockerless"
    assert all(phase["status"] == "ok" for phase in report["phases"].values()), report["phases"]
    first = target.report(ephemeral_dir() / "first-report.json")
    assert first["phases"]["restart"]["changed"], "the first run did not restart anything"
    assert not report["phases"]["restart"]["changed"], "the second run restarted again"


def test_no_failed_request_so_far(migrated):
    assert_no_failed_request(poller_summary(stop=False))


# -- after the rollback ---------------------------------------------------------------------


def test_media_written_on_s3_is_local_and_the_instance_users(after_rollback, target):
    written = json.loads((ephemeral_dir() / "written-on-s3.json").read_text())
    assert len(written) >= 5
    local = target.local_media()
    names = [name.split("images/", 1)[-1].lstrip("/") for name in written]
    missing = [name for name in names if name not in local]
    assert not missing, f"not brought down: {missing}"
    for name in names:
        assert stat(f"{INSTANCE_DIR}/images/{name}") == ("bookwyrm", "bookwyrm", "644"), name
    found = set(dockerless.sh(f"find {INSTANCE_DIR}/images -not -user bookwyrm").stdout.split())
    assert not found, f"media not the instance user's: {sorted(found)[:5]}"


def test_env_is_local_again(after_rollback, target):
    assert stat(f"{INSTANCE_DIR}/.env") == ("bookwyrm", "bookwyrm", "600")
    env = target.env()
    assert env.get("USE_S3", "false") == "false"
    assert not env.get("AWS_SECRET_ACCESS_KEY")


def test_page_serves_its_files_itself(after_rollback, target):
    page = target.page_urls()
    assert page["static"] == "/static/" and page["media"] == "/images/"
    assert target.storage_url not in page["body"], "a cached fragment still links the bucket"
    written = json.loads((ephemeral_dir() / "written-on-s3.json").read_text())
    cover = "images/" + written[0].split("images/", 1)[-1].lstrip("/")
    status, headers, _ = dockerless.bed.http_get(target.url + cover)
    assert status == 200 and headers["Content-Type"] == "image/png", cover


def test_rollback_ran_once_then_changed_nothing(after_rollback, target):
    first = target.report(ephemeral_dir() / "rollback-report.json")
    assert first["phases"]["rollback"]["changed"] and first["phases"]["restart"]["changed"]
    second = target.report()
    assert second["phases"]["rollback"]["status"] == "ok"
    assert not second["phases"]["rollback"]["changed"], "the second rollback changed something"
    assert dockerless.units_active() == dict.fromkeys(dockerless.UNITS, "active")


def test_no_failed_request_through_migration_and_rollback(after_rollback):
    summary = poller_summary(stop=True)
    assert summary["finished"], "the poller did not stop"
    assert_no_failed_request(summary)
