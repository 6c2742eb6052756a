"""Faults during a migration of a real test-bed instance (issue 5, "Faults")."""

from __future__ import annotations

import hashlib
import time

import _harness as h
import bookwyrm_testbed as tb
import pytest

pytestmark = pytest.mark.testbed
GROUP = "fault"
NAME, PORT = "rel-faults", 8112
BULK = 3000
BUCKETS = ["rel-faults-copy", "rel-faults-sigint", "rel-faults-lossy", "rel-faults-ssh"]


@pytest.fixture(scope="module")
def fx(s3_server):
    """One instance for every fault case: 20 seeded covers (in the database and on the page)
    and 3,000 more media files written straight into the volume."""
    tb.destroy_instance(NAME)
    for bucket in BUCKETS:
        h.drop_bucket(bucket)
    instance = tb.create_instance(NAME, PORT)
    instance.up()
    tb.seed(instance, 20, 5, 5)
    media = h.volume_dir(instance)
    h.write_files(media, BULK)
    state = {"instance": instance, "env": instance.env_file.read_bytes(), "media": media}
    state["tree"] = h.snapshot_tree(media)
    yield state
    tb.destroy_instance(NAME)
    for bucket in BUCKETS:
        h.drop_bucket(bucket)


def _files(tree):
    return {rel: value for rel, value in tree.items() if value[0] != "link"}


def _restored(fx, result, case):
    """The run failed, the previous .env is back and the instance serves from local storage."""
    instance = fx["instance"]
    failure = result.failures()[-1] if result.failures() else {}
    assert result.rc != 0
    assert instance.env_file.read_bytes() == fx["env"], ".env differs from the one before the run"
    assert h.page_storage(instance) == "local"
    envs = h.web_env(instance)
    assert len(envs) == 1 and envs[0]["USE_S3"] == "false", envs
    lost = h.lost_files(fx["tree"], h.snapshot_tree(fx["media"]))
    case.row.files_lost = str(len(lost))
    assert not lost
    return failure


def test_s3_killed_mid_media_copy(fx, case):
    """S3 server killed in the middle of the media copy, then rerun."""
    instance, bucket = fx["instance"], "rel-faults-copy"
    hv = h.host_vars(instance, bucket, case.dir)
    with h.when_bucket_holds(bucket, 300, lambda: tb.s3_kill() or {}) as killed:
        first = h.run_play(case.dir, {NAME: hv})
    assert killed, "the copy finished before the server could be killed"
    failure = _restored(fx, first, case)
    assert failure["task"].startswith("Media copy"), failure
    assert "Could not connect" in failure["msg"] and "again" in failure["msg"], failure["msg"]

    tb.s3_start()
    before = h.bucket_objects(bucket, "images/")
    local = _files(fx["tree"])
    torn = [k for k, o in before.items() if local.get(k[len("images/") :], (None,))[0] != o["size"]]
    assert not torn, torn
    second = h.run_play(case.dir, {NAME: hv})
    assert second.rc == 0, second.output[-3000:]
    rep = h.report(hv)
    uploaded = rep["phases"]["media_copy"]["counts"]["uploaded"]
    after = h.bucket_objects(bucket, "images/")
    again = [k for k, o in before.items() if after[k]["modified"] != o["modified"] or after[k]["etag"] != o["etag"]]
    missing = h.missing_in_bucket(fx["tree"], bucket)
    assert uploaded == len(local) - len(before)
    assert not again and not missing
    assert rep["phases"]["verify"]["status"] == "ok"
    assert h.page_storage(instance) == "bucket"
    case.row.files_lost = str(len(missing))
    case.row.done = (
        f"{len(local)} media files; SeaweedFS SIGKILLed once {killed['objects']}+ objects were in the bucket "
        "(media copy running); server started again; same playbook run again"
    )
    case.row.observed = (
        f"run 1 failed at '{failure['task']}': \"{failure['msg'][:160]}...\"; .env byte-identical, web still "
        f"USE_S3=false, page served from local storage; {len(before)} objects in the bucket, none torn. Rerun: "
        f"rc 0, media copy uploaded {uploaded} = exactly the missing ones, 0 of {len(before)} uploaded twice "
        "(LastModified/ETag unchanged), verify ok, page from the bucket"
    )
    case.scan([instance.directory])


def test_ssh_connection_killed_mid_media_copy(fx, case):
    """SSH connection killed in the middle of the media copy, then rerun."""
    instance, bucket = fx["instance"], "rel-faults-ssh"
    h.reset_instance(instance, fx["env"])
    hv = h.host_vars(instance, bucket, case.dir)
    with h.when_bucket_holds(bucket, 300, lambda: {"sessions": h.kill_ssh_sessions()}) as killed:
        first = h.run_play(case.dir, {NAME: hv})
    assert killed.get("sessions"), "the copy finished before the connection could be killed"
    after_first = h.bucket_objects(bucket, "images/")
    second = h.run_play(case.dir, {NAME: hv})
    assert second.rc == 0, second.output[-3000:]
    rep = h.report(hv)
    after = h.bucket_objects(bucket, "images/")
    twice = [key for key, old in after_first.items() if after[key] != old]
    missing = h.missing_in_bucket(fx["tree"], bucket)
    lost = h.lost_files(fx["tree"], h.snapshot_tree(fx["media"]))
    uploaded = rep["phases"]["media_copy"]["counts"]["uploaded"]
    assert uploaded == len(_files(fx["tree"])) - len(after_first)
    assert not twice and not missing and not lost
    assert rep["phases"]["verify"]["status"] == "ok"
    case.row.files_lost = str(len(missing) + len(lost))
    case.row.done = (
        f"migrate over SSH as the sudo user with become; once {killed['objects']}+ of {len(_files(fx['tree']))} "
        f"media objects were in the bucket, every session of the bed's sshd was SIGKILLed ({killed['sessions']} "
        "processes: the connection and ansible's control master); same playbook run again"
    )
    failed_at = f" at '{first.failure()['task']}'" if first.failure() else ""
    observed_first = f"run 1 rc {first.rc}{failed_at} in {first.seconds:.0f}s"
    case.row.observed = (
        f"{observed_first}: the detached copy went on, the progress poll reconnected; {len(after_first)} objects "
        f"after run 1. Rerun: rc 0, media copy uploaded {uploaded}, 0 uploaded twice (LastModified/ETag unchanged), "
        "verify ok, nothing missing, no local file lost"
    )
    case.scan([instance.directory])


def test_s3_dies_after_env_written_before_restart(fx, case):
    """S3 server dies after .env is written, before the restart (two points), then rerun.

    Killed right after .env is written (before static), then again just before the restart."""
    instance, bucket = fx["instance"], "rel-faults-copy"
    h.reset_instance(instance, fx["env"])
    hv = h.host_vars(instance, bucket, case.dir, bookwyrm_s3_health_timeout=60)
    observed = []
    for label, point in (
        ("after .env was written", "Static | compile themes and collect static files"),
        ("just before the restart", "Restart | recreate web"),
    ):
        result = h.run_play(case.dir, {NAME: hv}, fault_at=point)
        assert any(e["event"] == "fault" for e in result.events), f"never reached {point}"
        assert "Env | storage settings" in result.changed_tasks(), "the .env was not written before the fault"
        failure = _restored(fx, result, case)
        assert failure["task"] == "Restore | fail with the reason", failure
        assert "previous .env is back" in failure["msg"] and "serves again" in failure["msg"], failure["msg"]
        web_count = len(instance.compose("ps", "-q", "web").stdout.split())
        assert web_count == 1
        observed.append(
            f'killed {label}: failed in {result.seconds:.0f}s with "{failure["msg"][:200]}..."; .env restored '
            f"byte-identical, 1 web container (USE_S3=false), page 200 from local storage"
        )
        tb.s3_start()
    final = h.run_play(case.dir, {NAME: hv})
    assert final.rc == 0, final.output[-3000:]
    assert h.report(hv)["phases"]["verify"]["status"] == "ok"
    assert h.page_storage(instance) == "bucket"
    missing = h.missing_in_bucket(fx["tree"], bucket)
    assert not missing
    case.row.done = (
        "S3 server SIGKILLed by a callback at the first task after `.env` was written; started again, rerun with "
        "the server killed at the restart task; started again, rerun"
    )
    case.row.observed = (
        "; ".join(observed) + f". Final rerun: rc 0, verify ok, page from the bucket, {len(missing)} missing"
    )
    case.scan([instance.directory])


def test_s3_dies_after_restart_before_final_sync(fx, case):
    """S3 server dies after the restart, before the final media sync, then rerun."""
    instance, bucket = fx["instance"], "rel-faults-copy"
    h.reset_instance(instance, fx["env"])
    hv = h.host_vars(instance, bucket, case.dir)
    result = h.run_play(case.dir, {NAME: hv}, fault_at="Media sync | what appeared since the copy")
    failure = result.failure()
    assert result.rc != 0 and failure["task"].startswith("Media sync"), failure
    assert "Could not connect" in failure["msg"]
    status, _ = h.serves(instance)
    envs = h.web_env(instance)
    assert status == 200 and envs == [{"USE_S3": "true", "AWS_STORAGE_BUCKET_NAME": bucket}], envs
    # what the instance wrote locally during the outage is still there, and is synced on the rerun
    extra = fx["media"] / "covers" / "during-outage"
    h.write_files(fx["media"], 7, prefix="covers/during-outage", seed=9)
    tree = h.snapshot_tree(fx["media"])
    tb.s3_start()
    final = h.run_play(case.dir, {NAME: hv})
    assert final.rc == 0, final.output[-3000:]
    rep = h.report(hv)
    assert rep["phases"]["verify"]["status"] == "ok"
    missing = h.missing_in_bucket(tree, bucket)
    lost = h.lost_files(fx["tree"], h.snapshot_tree(fx["media"]))
    assert not missing and not lost
    case.row.files_lost = str(len(missing) + len(lost))
    case.row.done = (
        "S3 server SIGKILLed by a callback after the restart, as the final media sync starts; 7 files written to "
        "the volume meanwhile; server started again; rerun"
    )
    case.row.observed = (
        f"run 1 failed at '{failure['task']}' (\"{failure['msg'][:140]}...\"); the instance kept answering 200 "
        f"(web on USE_S3=true). Rerun: rc 0, media copy uploaded {rep['phases']['media_copy']['counts']['uploaded']} "
        "(the 7 new files), verify ok, nothing missing in the bucket"
    )
    for path in extra.iterdir():
        path.unlink()
    extra.rmdir()
    case.scan([instance.directory])


HUNG = "a 2nd Ctrl-C (ansible-core hung after the 1st)"
SIGINT_POINTS = [
    ("facts", "Facts | what the instance's host holds", 0.0),
    ("bucket", "Bucket | exists", 0.0),
    ("cors", "CORS | rules", 0.0),
    ("media copy (mid-copy)", "Media copy | the media volume", 1.0),
    ("env", "Env | storage settings", 0.0),
    ("static (mid-collectstatic)", "Static | compile themes", 2.0),
    ("restart (mid rolling restart)", "Restart | recreate web", 4.0),
    ("media sync", "Media sync | what appeared", 0.0),
    ("connector", "Connector | legacy", 0.3),
    ("verify", "Verify | page", 0.2),
    ("report", "Report | write", 0.0),
]


def test_sigint_at_each_phase_then_rerun(fx, case):
    """SIGINT at each phase.

    Ctrl-C (SIGINT to ansible-playbook's process group) in each phase in turn; each rerun
    gets further, the last one finishes."""
    instance, bucket = fx["instance"], "rel-faults-sigint"
    h.reset_instance(instance, fx["env"])
    hv = h.host_vars(instance, bucket, case.dir)
    case.split()
    h_rows = []
    for label, point, delay in SIGINT_POINTS:
        row = case.add_row(GROUP, f"SIGINT during {label}, then rerun")
        started = time.monotonic()
        result = h.run_play(case.dir, {NAME: hv}, interrupt_at=point, interrupt_delay=delay)
        assert result.interrupted, f"the run never reached {point}"
        # The report is the play's last phase: its two quick tasks may be done before the
        # SIGINT sent on its TASK line lands. Nothing is left to interrupt then; any earlier
        # phase must be cut short.
        last = point == SIGINT_POINTS[-1][1]
        assert result.rc != 0 or last, f"interrupt at {point} came too late"
        status, _ = h.serves(instance)
        env = instance.read_env()
        lost = h.lost_files(fx["tree"], h.snapshot_tree(fx["media"]))
        torn_env = env.get("USE_S3") not in ("true", "false") or (
            env.get("USE_S3") == "true" and env.get("AWS_STORAGE_BUCKET_NAME") != bucket
        )
        row.done = f"SIGINT to the process group {delay:.1f}s after task '{point}' started"
        how = (
            "the run had finished (exit 0) when the SIGINT landed"
            if result.rc == 0
            else f"exit {result.rc} after {'one Ctrl-C' if result.sigints < 2 else HUNG}"
            f"{' (User interrupted execution)' if 'interrupted' in result.output else ''}"
        )
        row.observed = (
            f"{how}; instance answered {status}; .env USE_S3={env.get('USE_S3')} (whole); "
            f"{len(h.web_env(instance))} web container(s); the next run continues"
        )
        row.files_lost = str(len(lost))
        row.seconds = time.monotonic() - started
        h_rows.append(row)
        assert status == 200 and not torn_env and not lost
    final_row = case.add_row(GROUP, "SIGINT: final rerun after the interrupted runs")
    started = time.monotonic()
    final = h.run_play(case.dir, {NAME: hv})
    assert final.rc == 0, final.output[-3000:]
    rep = h.report(hv)
    missing = h.missing_in_bucket(fx["tree"], bucket)
    envs = h.web_env(instance)
    final_row.done = "the same playbook, uninterrupted, after the 11 interrupted runs"
    final_row.observed = (
        f"rc 0; verify {rep['phases']['verify']['status']}; {len(envs)} web container(s) on USE_S3="
        f"{envs[0]['USE_S3']}; page from the {h.page_storage(instance)}; {len(missing)} media missing in the bucket"
    )
    final_row.files_lost = str(len(missing))
    final_row.seconds = time.monotonic() - started
    assert rep["phases"]["verify"]["status"] == "ok" and not missing and len(envs) == 1
    assert h.page_storage(instance) == "bucket"
    case.scan([instance.directory], rows=case.rows)


def _healthy_line(failure):
    text = failure["msg"] + "\n" + failure["stderr"]
    return next((line for line in text.splitlines() if "healthy" in line), text.strip()[:120])


OVERRIDE = """\
# reliability test: a compose-level setting that breaks gunicorn once storage is configured
services:
  web:
    environment:
      GUNICORN_CMD_ARGS: "${AWS_STORAGE_BUCKET_NAME:+--workers=not-a-number}"
"""


def test_web_not_healthy_after_restart(fx, case):
    """Web container not healthy after the restart (broken setting)."""
    instance, bucket = fx["instance"], "rel-faults-copy"
    override = instance.directory / "docker-compose.override.yml"
    override.write_text(OVERRIDE)
    try:
        h.reset_instance(instance, fx["env"])
        hv = h.host_vars(instance, bucket, case.dir, bookwyrm_s3_health_timeout=60)
        result = h.run_play(case.dir, {NAME: hv})
        failure = _restored(fx, result, case)
        assert failure["task"] == "Restore | fail with the reason", failure
        assert "did not become healthy" in failure["msg"] and "serves again" in failure["msg"], failure["msg"]
        restart_failure = next(f for f in result.failures() if f["task"].startswith("Restart"))
        case.row.done = (
            "docker-compose.override.yml gives web GUNICORN_CMD_ARGS=--workers=not-a-number as soon as "
            "AWS_STORAGE_BUCKET_NAME is set; full migration run"
        )
        case.row.observed = (
            f"restart failed ({_healthy_line(restart_failure)}); rescue put the previous "
            f".env back (byte-identical), 1 web container on USE_S3=false, page 200 from local storage; play failed "
            f'in {result.seconds:.0f}s with "{failure["msg"][:330]}..."'
        )
        case.scan([instance.directory])
    finally:
        override.unlink(missing_ok=True)


def test_slow_lossy_link(fx, case, tmp_path):
    """Slow, lossy link to S3 (TCP proxy on loopback).

    media_sync through a loopback proxy adding 20 ms per chunk, refusing 15 % of connections
    and cutting 10 % mid-transfer."""
    bucket = "rel-faults-lossy"
    root = tmp_path / "media"
    h.write_files(root, 300, prefix="covers", seed=3)
    (root / "big.bin").write_bytes(hashlib.sha256(b"x").digest() * (12 * 1024 * 1024 // 32))
    tree = h.snapshot_tree(root)
    tb.load_s3().client().create_bucket(Bucket=bucket)
    server = tb.load_s3()
    with h.LossyProxy(latency=0.02, refuse_rate=0.15, cut_rate=0.10) as proxy:
        hv = {
            "ansible_connection": "local",
            "ansible_python_interpreter": h.sys.executable,
            "rel_path": str(root),
            "rel_bucket": bucket,
            "rel_endpoint": proxy.url,
            "rel_region": server.region,
        }
        runs = [h.run_play(case.dir, {"lossy": hv}, playbook=h.HERE / "playbooks" / "media_sync.yml") for _ in (1, 2)]
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
    objects = h.bucket_objects(bucket, "images/")
    client = server.client()
    mismatched = [
        rel
        for rel, (size, md5) in tree.items()
        if objects.get("images/" + rel, {}).get("size") != size
        or hashlib.md5(client.get_object(Bucket=bucket, Key="images/" + rel)["Body"].read()).hexdigest() != md5  # noqa: S324
    ]
    assert len(objects) == len(tree) and not mismatched
    assert proxy.stats.refused > 0 and proxy.stats.cut > 0, proxy.stats
    second = runs[1].output
    case.row.files_lost = str(len(mismatched) + len(tree) - len(objects))
    case.row.done = (
        f"{len(tree)} files (one of 12 MiB, multipart at 5 MiB) pushed by media_sync through an asyncio proxy on "
        "127.0.0.1: +20 ms per chunk, 15 % of connections closed at once, 10 % cut mid-transfer; then run again"
    )
    case.row.observed = (
        f"proxy: {proxy.stats.connections} connections, {proxy.stats.refused} refused, {proxy.stats.cut} cut; "
        f"both runs rc 0; bucket holds {len(objects)} objects = {len(tree)} local files, every size and MD5 equal; "
        f"second run uploaded {'0' if 'uploaded: 0' in second else '?'}"
    )
    assert "uploaded: 0" in second
    case.scan([], extra=[root])
