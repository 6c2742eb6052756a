"""After the side effect (celery writes covers to the bucket, then playbooks/rollback.yml): the
instance serves every file itself again, none is missing, and the bucket lost nothing."""

import json

from moltest import ADMIN, ephemeral_dir, http_get

THEME = "static/css/themes/bookwyrm-light.css"


def read(name: str):
    return json.loads((ephemeral_dir() / name).read_text())


def live_covers() -> list:
    """Covers celery wrote while the instance ran on the bucket (not their thumbnails)."""
    return sorted(key for key in read("bucket-before-rollback.json") if key.startswith("images/covers/testbed-live-"))


def test_media_written_on_the_bucket_was_public(target, public_access):
    """BookWyrm's own uploads after the cutover (django-storages): with public_access acl they
    carry AWS_DEFAULT_ACL=public-read, which is what opens them."""
    key = live_covers()[-1]
    status, _, _ = http_get(f"{target.storage_url}/{key}")
    assert status == 200, f"a cover written on the bucket answered {status}"
    if public_access == "acl":
        grants = target.client().get_object_acl(Bucket=target.bucket, Key=key)["Grants"]
        readers = [grant["Permission"] for grant in grants if grant["Grantee"].get("URI", "").endswith("/AllUsers")]
        assert readers == ["READ"], grants


def test_every_file_is_in_the_volume(target):
    local = target.local_media()
    before_migrate = set(read("media-before-migrate.json"))
    bucket = {key.removeprefix("images/") for key in read("bucket-before-rollback.json") if key.startswith("images/")}
    live = {path for path in bucket if "testbed-live-" in path}
    assert len(live) >= 5, "celery wrote no cover to the bucket: the rollback proves nothing"
    missing = sorted((before_migrate | bucket) - local)
    assert not missing, f"{len(missing)} files missing from the media volume, e.g. {missing[:5]}"


def test_page_serves_static_files_and_media_itself(target):
    page = target.page_urls()  # as a logged-in reader: past nginx's cache
    assert (page["static"], page["media"]) == ("/static/", "/images/")
    assert page["media_urls"] and target.storage_url not in page["body"], "the page still links the bucket"
    linked = page["media_urls"][0].removeprefix(target.url).lstrip("/")
    for path, content_type in ((THEME, "text/css"), (linked, "image/"), (live_covers()[-1], "image/png")):
        status, headers, _ = http_get(f"{target.url}{path}")
        assert status == 200, path
        assert headers["Content-Type"].startswith(content_type), (path, headers["Content-Type"])


def test_local_env_and_one_healthy_web_container(host, target):
    env_file = host.file(str(target.instance.env_file))
    assert (env_file.mode, env_file.user) == (0o600, ADMIN), "ran as root (become), yet .env is not the admin's"
    env = target.env()
    assert (env.get("USE_S3", "false"), env.get("AWS_SECRET_ACCESS_KEY", "")) == ("false", ""), "still on S3"
    assert [target.health(container) for container in target.containers("web")] == ["healthy"]


def test_nothing_was_deleted_from_the_bucket(target):
    before = set(read("bucket-before-rollback.json"))
    now = target.keys("")
    assert before <= now, f"{len(before - now)} objects disappeared, e.g. {sorted(before - now)[:5]}"


def test_report_the_new_media_came_down_without_conflict(target):
    rollback = target.report()["phases"]["rollback"]
    assert rollback["status"] == "ok" and rollback["changed"], rollback
    pulled = rollback["media_pulled"][target.bucket]  # by bucket: the instance used only this one
    # a conflict would mean the listing's ETag differs from the local file's MD5
    assert pulled["downloaded"] >= 5 and pulled["conflicts"] == 0, rollback["media_pulled"]
