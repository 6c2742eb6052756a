"""After the move from bucket A to bucket B (playbooks/migrate.yml, run twice): every file that
existed before it, in the volume or in bucket A, is in bucket B; nothing left either place; the
instance serves from B; the report tells what stays in A."""

import json

import pytest
from moltest import ephemeral_dir, http_get, secret_key

FIRST, SECOND = "move-mol-a", "move-mol-b"


@pytest.fixture(scope="module")
def before():
    """Counted by prepare.yml just before the move: the volume's files, A's and B's images/."""
    return json.loads((ephemeral_dir() / "counts" / "before_move.json").read_text())


def images(target, bucket):
    client = target.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="images/"):
        for item in page.get("Contents", []):
            found[item["Key"].removeprefix("images/")] = (item["Size"], item["ETag"])
    return found


def test_media_only_in_a_were_there_to_lose(before):
    only_in_a = set(before["a"]) - set(before["local"])
    assert len([name for name in only_in_a if "testbed-live-" in name]) >= 5
    assert not before["b"]


def test_every_file_of_the_volume_and_of_a_is_in_b(target, before):
    in_b = images(target, SECOND)
    missing = sorted((set(before["local"]) | set(before["a"])) - set(in_b))
    assert not missing, f"{len(missing)} files not in {SECOND}, e.g. {missing[:5]}"


def test_objects_in_b_are_as_in_a(target, before):
    in_a, in_b = images(target, FIRST), images(target, SECOND)
    differ = sorted(name for name in before["a"] if in_b.get(name) != in_a.get(name))
    assert not differ, f"{len(differ)} objects differ between the buckets, e.g. {differ[:5]}"
    client = target.client()
    live = sorted(name for name in before["a"] if name.startswith("covers/testbed-live-"))[0]
    head = client.head_object(Bucket=SECOND, Key=f"images/{live}")
    assert head["ContentType"] == "image/png" and head["CacheControl"] == "max-age=86400"


def test_nothing_left_the_volume_or_bucket_a(target, before):
    assert set(before["local"]) <= target.local_media()
    assert set(before["a"]) <= set(images(target, FIRST)), "an object was deleted from the old bucket"


def test_env_names_bucket_b(target):
    env = target.env()
    assert env["USE_S3"] == "true"
    assert env["AWS_STORAGE_BUCKET_NAME"] == SECOND


def test_page_serves_every_medium_from_b(target, before):
    storage = f"{target.s3.endpoint_url.rstrip('/')}/{SECOND}"
    page = target.page_urls()
    assert page["media"] == f"{storage}/images/"
    live = sorted(name for name in before["a"] if name.startswith("covers/testbed-live-"))  # not thumbnails
    for name in (live[0], live[-1]):
        status, headers, _ = http_get(f"{storage}/images/{name}")
        assert status == 200 and headers["Content-Type"] == "image/png", name


def test_report_of_the_move_tells_the_source(before):
    report = json.loads((ephemeral_dir() / "move-report.json").read_text())
    assert report["action"] == "Moved"
    assert report["source"]["bucket"] == FIRST and report["source"]["storage"] == "bucket"
    assert report["phases"]["verify"]["status"] == "ok"
    assert report["phases"]["verify"]["previous_bucket_objects_missing"] == 0
    copied = report["phases"]["media_copy"]["from_bucket"]
    assert copied["bucket"] == FIRST and copied["method"] == "server-side"  # one endpoint, one key
    # the instance keeps writing to A until the restart (thumbnails of pages viewed): at least what was counted
    assert copied["counts"]["scanned"] >= len(before["a"])
    assert copied["counts"]["uploaded"] + copied["counts"]["skipped"] == copied["counts"]["scanned"]
    assert report["phases"]["media_copy"]["counts"]["uploaded"] == 0  # the volume's files came with A's


def test_rerun_on_b_is_no_move_and_finds_everything(target):
    report = target.report()
    assert report["action"] == "Migrated" and report["source"]["bucket"] == SECOND
    assert report["phases"]["verify"]["status"] == "ok"


def test_history_lists_both_buckets(host, target):
    history = target.instance.directory / "bookwyrm-s3-history.json"
    assert host.file(str(history)).mode == 0o600
    entries = json.loads(history.read_text())["buckets"]
    assert [entry["bucket"] for entry in entries] == [FIRST, SECOND]
    assert not entries[0].get("moved_from")  # A was reached from the volume
    assert entries[1]["moved_from"]["bucket"] == FIRST
    assert entries[1]["verified"], "verify passed, yet the move is not marked complete"
    assert secret_key() not in history.read_text()
