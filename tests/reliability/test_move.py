"""A move from one bucket to another (issue 12) whose old bucket cannot be read: the run fails
with a clear error before anything changes, and nothing is lost anywhere.

The instance is on bucket A (its .env says so) and the inventory names bucket B. Each case is a
copy of the instance's directory with its own .env (the same compose project and volume, through
bookwyrm_s3_project_name), and one playbook run at -vvv covers them all, a host per case.
"""

from __future__ import annotations

import re

import _harness as h
import bookwyrm_testbed as tb
import pytest

pytestmark = pytest.mark.testbed
GROUP = "moving buckets"
NAME, PORT = "move-rel", 8191
OLD, NEW = "move-rel-a", "move-rel-b"
DOWN_ENDPOINT = "http://127.0.0.1:8199"  # in this suite's port range; nothing listens there
ONLY_IN_OLD = [f"images/covers/move-rel-live-{index}.png" for index in range(4)]

# id: (what was given, .env changes, host vars, environment for the source's secret, message regex)
CASES = {
    "old bucket's secret key in .env is wrong": (
        "the instance's .env names bucket A with a wrong AWS_SECRET_ACCESS_KEY",
        {"AWS_SECRET_ACCESS_KEY": "__wrong__"},
        {},
        None,
        r"secret key does not match",
    ),
    "old bucket's secret key given wrong": (
        ".env right; bookwyrm_s3_source_secret_key (from the environment) wrong",
        {},
        {"bookwyrm_s3_source_secret_key": "{{ lookup('ansible.builtin.env', 'REL_MOVE_SOURCE_SECRET') }}"},
        "__wrong__",
        r"secret key does not match",
    ),
    "old bucket's access key unknown": (
        "the instance's .env names bucket A with an access key the server does not know",
        {"AWS_ACCESS_KEY_ID": "AKIAMOVERELIABILITY0"},
        {},
        None,
        r"access key is unknown",
    ),
    "old endpoint down": (
        f"the instance's .env names bucket A at {DOWN_ENDPOINT}, where nothing answers",
        {"AWS_S3_ENDPOINT_URL": DOWN_ENDPOINT},
        {},
        None,
        r"cannot connect to 127\.0\.0\.1:8199",
    ),
    "old bucket gone": (
        "the instance's .env names a bucket that does not exist",
        {"AWS_STORAGE_BUCKET_NAME": "move-rel-gone"},
        {},
        None,
        r"does not exist",
    ),
}


def _on_bucket_env(text: str, server, changes: dict) -> str:
    """The instance's .env as the role leaves it on bucket A, with a case's changes."""
    values = {
        "USE_S3": "true",
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_STORAGE_BUCKET_NAME": OLD,
        "AWS_S3_REGION_NAME": server.region,
        "AWS_S3_ENDPOINT_URL": server.endpoint_url,
        "AWS_S3_CUSTOM_DOMAIN": f"{server.endpoint_url.split('://', 1)[1]}/{OLD}",
        "AWS_S3_URL_PROTOCOL": "http:",
        "AWS_DEFAULT_ACL": "public-read",
    }
    for key, value in changes.items():
        values[key] = server.secret_key[::-1] + "x" if value == "__wrong__" else value
    lines = [line for line in text.splitlines() if line.split("=", 1)[0] not in values]
    return "\n".join(lines + [f"{key}={value}" for key, value in values.items()]) + "\n"


@pytest.fixture(scope="module")
def bed(s3_server, tmp_path_factory):
    tb.destroy_instance(NAME)
    for bucket in (OLD, NEW):
        h.drop_bucket(bucket)
    instance = tb.create_instance(NAME, PORT)
    instance.up()
    tb.seed(instance, 6, 2, 2)
    media = h.volume_dir(instance)
    client = s3_server.client()
    client.create_bucket(Bucket=OLD)
    for rel in sorted(h.snapshot_tree(media))[:5]:  # what a first migration copied
        client.put_object(Bucket=OLD, Key=f"images/{rel}", Body=(media / rel).read_bytes())
    for key in ONLY_IN_OLD:  # what the instance wrote while on the bucket
        client.put_object(Bucket=OLD, Key=key, Body=key.encode() * 40, ContentType="image/png")
    dirs = {}
    for index, (key, (_given, changes, _vars, _secret, _regex)) in enumerate(CASES.items()):
        directory = tmp_path_factory.mktemp(f"move-case{index}")
        env_file = directory / ".env"
        env_file.write_text(_on_bucket_env(instance.env_file.read_text(), s3_server, changes))
        env_file.chmod(0o600)
        dirs[key] = directory
    state = {
        "instance": instance,
        "media": media,
        "dirs": dirs,
        "envs": {key: (d / ".env").read_bytes() for key, d in dirs.items()},
        "tree": h.snapshot_tree(media),
        "old": h.bucket_objects(OLD),
        "page": h.serves(instance)[0],
    }
    yield state
    tb.destroy_instance(NAME)
    for bucket in (OLD, NEW):
        h.drop_bucket(bucket)


@pytest.fixture(scope="module")
def runs(bed, monkeypatch_module):
    server = tb.load_s3()
    case_dir = h.ART_DIR / "move-unreadable-source"
    case_dir.mkdir(parents=True, exist_ok=True)
    wrong = server.secret_key[::-1] + "x"
    monkeypatch_module.setenv("REL_MOVE_SOURCE_SECRET", wrong)
    h.SECRETS.add(wrong)
    hosts = {}
    for index, (key, (_given, _changes, host_vars, _secret, _regex)) in enumerate(CASES.items()):
        hv = h.host_vars(bed["instance"], NEW, case_dir, **host_vars)
        hv["bookwyrm_s3_instance_dir"] = str(bed["dirs"][key])
        hv["bookwyrm_s3_project_name"] = NAME  # the instance's compose project and media volume
        hv["bookwyrm_s3_report_path"] = str(case_dir / f"report-{index}.json")
        hosts[f"move{index:02d}"] = hv
    run = h.run_play(case_dir, hosts, verbosity=3)
    return {"run": run, "dir": case_dir, "hosts": {key: f"move{i:02d}" for i, key in enumerate(CASES)}}


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.mark.parametrize("key", list(CASES))
def test_unreadable_old_bucket_fails_before_any_change(bed, runs, case, key):
    """A move whose old bucket cannot be read."""
    case.row.case = key
    given, _changes, _vars, _secret, regex = CASES[key]
    host = runs["hosts"][key]
    run = runs["run"]
    failure = run.failure(host)
    assert failure, f"{key}: the run did not fail"
    assert failure["task"].startswith("Preflight"), failure
    assert re.search(regex, failure["msg"], re.IGNORECASE | re.DOTALL), failure["msg"]
    assert "Nothing has been changed" in failure["msg"], failure["msg"]
    assert f"s3://{CASES[key][1].get('AWS_STORAGE_BUCKET_NAME', OLD)}" in failure["msg"], failure["msg"]
    assert not run.changed_tasks(host), run.changed_tasks(host)
    assert (bed["dirs"][key] / ".env").read_bytes() == bed["envs"][key], ".env changed"
    assert not (bed["dirs"][key] / "bookwyrm-s3-history.json").exists()
    assert not h.bucket_exists(NEW), f"bucket {NEW} was created"
    assert h.bucket_objects(OLD) == bed["old"], f"bucket {OLD} changed"
    lost = h.lost_files(bed["tree"], h.snapshot_tree(bed["media"]))
    case.row.files_lost = str(len(lost))
    assert not lost
    assert h.serves(bed["instance"])[0] == bed["page"] == 200
    case.row.done = f"{given}; inventory names bucket {NEW}; one playbook run at -vvv with a host per case"
    case.row.observed = (
        f"failed at '{failure['task']}' with \"{failure['msg'].strip()[:300]}\"; no task changed anything; "
        f".env byte-identical; {NEW} not created; {OLD} and the volume unchanged; the page still answers 200"
    )
    case.scan([*bed["dirs"].values(), bed["instance"].directory], extra=[runs["dir"]])


def test_the_cases_ran_in_one_bounded_run(runs):
    """All cases, including the dead endpoint's retries, fail within a few minutes."""
    assert runs["run"].seconds < 400, runs["run"].seconds
