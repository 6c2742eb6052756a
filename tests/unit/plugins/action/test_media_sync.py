"""The media_sync action plugin: its progress line, and its polling of the job over any connection."""

import json
import os
import shlex
import subprocess
import sys
import threading
import time

import pytest
from ansible.errors import AnsibleError
from ansible_collections.bookwyrm.s3.plugins.action import media_sync as plugin
from ansible_collections.bookwyrm.s3.plugins.action.media_sync import progress_line

MB = 1024 * 1024


def test_progress_line_while_uploading():
    line = progress_line(
        {
            "phase": "uploading",
            "uploaded": 4096,
            "bytes": 200 * MB,
            "bytes_total": 480 * MB,
            "plan_complete": True,
            "files_per_second": 1000.0,
            "mb_per_second": 47.5,
            "eta_seconds": 6.2,
        }
    )
    assert line == "uploading, 4096 files, 200.0 MB of 480.0 MB, 1000.0 files/s, 47.5 MB/s, ETA 6s"


def test_progress_line_while_listing():
    assert progress_line({"phase": "listing"}) == "listing the bucket and the local tree"


# ---------------------------------------------------------------------------------------------
# Polling the job: CRLF from a pty, a missing job file, a job that ends between two polls
# ---------------------------------------------------------------------------------------------

RUNNING = json.dumps({"started": True, "finished": False, "ansible_job_id": "j1"})
# what async_wrapper of ansible-core 2.17 and 2.18 writes while the job runs
RUNNING_BEFORE_219 = json.dumps({"started": 1, "finished": 0, "ansible_job_id": "j1"})
DONE = json.dumps({"changed": True, "stats": {"uploaded": 3}})
PROGRESS = json.dumps({"phase": "uploading", "uploaded": 2, "bytes": 10, "bytes_total": 20, "plan_complete": True})


def poll_output(progress, job_head, newline="\n"):
    """What the poll command prints: progress file, separator, head of the job file."""
    text = progress + "\n" + plugin.SEPARATOR + "\n" + job_head[: plugin.HEAD_BYTES] + "\n"
    return text.replace("\n", newline)


@pytest.mark.parametrize("running", [RUNNING, RUNNING_BEFORE_219], ids=["core-2.19", "core-2.17"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["local", "ssh-pty"])
def test_read_poll_running_and_done(newline, running):
    progress, state = plugin.read_poll(poll_output(PROGRESS, running, newline))
    assert state == "running" and progress["uploaded"] == 2
    assert plugin.read_poll(poll_output(PROGRESS, DONE, newline))[1] == "done"


def test_read_poll_missing_job_file_and_torn_progress():
    assert plugin.read_poll(poll_output('{"phase": "upl', plugin.NO_JOB_FILE)) == (None, "missing")
    assert plugin.read_poll("") == (None, "missing")  # nothing came back at all


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def READER(wait):
    return "poll command"


def waiting_action(monkeypatch, outputs):
    """An ActionModule whose poll command answers with ``outputs`` in turn (the last repeats)."""
    clock = FakeClock()
    monkeypatch.setattr(plugin.time, "time", clock.time)
    monkeypatch.setattr(plugin.time, "sleep", clock.sleep)
    action = plugin.ActionModule.__new__(plugin.ActionModule)
    answers = list(outputs)
    calls = []

    def shell(cmd):
        calls.append(cmd)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return 0, answer

    action._shell = shell
    return action, calls, clock


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["local", "ssh-pty"])
def test_wait_returns_when_the_job_ends_between_polls(monkeypatch, newline):
    action, calls, _clock = waiting_action(
        monkeypatch, [poll_output(PROGRESS, RUNNING, newline)] * 3 + [poll_output(PROGRESS, DONE, newline)]
    )
    action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "host: ")
    assert len(calls) == 4


def test_wait_fails_naming_the_job_file_when_it_stays_missing(monkeypatch):
    action, _calls, clock = waiting_action(monkeypatch, [poll_output("", RUNNING), poll_output("", plugin.NO_JOB_FILE)])
    with pytest.raises(AnsibleError, match=r"/root/\.ansible_async/j1 has been unreadable for 120 s"):
        action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "")
    assert 1000 + plugin.UNREADABLE_LIMIT < clock.now < 1000 + plugin.UNREADABLE_LIMIT + 5


def test_wait_rides_out_a_connection_bounce(monkeypatch):
    bounce = [AnsibleError("Failed to connect to the host via ssh")] * 20
    action, calls, _clock = waiting_action(monkeypatch, [poll_output("", RUNNING), *bounce, poll_output("", DONE)])
    action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "")
    assert len(calls) == 22


def test_wait_fails_when_the_host_stays_out_of_reach(monkeypatch):
    action, _calls, _clock = waiting_action(monkeypatch, [AnsibleError("Failed to connect to the host via ssh")])
    with pytest.raises(AnsibleError, match="j1 has been out of reach"):
        action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "")


def test_polls_start_quick_and_settle_at_one_a_second(monkeypatch):
    """A no-op resync ends in about a second: the first polls come at 0.1 s steps, a long copy
    is polled once a second (each poll is a command over the connection)."""
    action, calls, _clock = waiting_action(monkeypatch, [poll_output(PROGRESS, RUNNING)] * 30 + [poll_output("", DONE)])
    sleeps = []
    sleep = plugin.time.sleep
    monkeypatch.setattr(plugin.time, "sleep", lambda seconds: (sleeps.append(seconds), sleep(seconds)))
    action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "")
    assert sleeps[0] == pytest.approx(0.1)
    assert sum(sleeps[:4]) < 1.0, sleeps
    assert max(sleeps) == pytest.approx(1.0) and sleeps[-1] == pytest.approx(1.0)
    assert len(calls) == 31


def run_poll(tmp_path, wait):
    """Run one real poll command in /bin/sh; (seconds it took, its output)."""
    command = plugin.poll_command(shlex.quote, str(tmp_path / "progress.json"), str(tmp_path / "j1"), wait)
    started = time.monotonic()
    out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, check=True).stdout
    return time.monotonic() - started, out


def write_job(tmp_path, head, progress=PROGRESS):
    (tmp_path / "progress.json").write_text(progress)
    if head is not None:
        job = tmp_path / "j1"
        job.write_text(head)
        os.utime(job, ns=(time.time_ns(), os.stat(tmp_path / "progress.json").st_mtime_ns + 1))


def test_a_poll_waits_on_the_host_while_the_job_runs(tmp_path):
    (tmp_path / "j1").write_text(RUNNING)
    time.sleep(0.01)
    (tmp_path / "progress.json").write_text(PROGRESS)  # the module writes after the job starts
    seconds, out = run_poll(tmp_path, 0.6)
    assert seconds >= 0.55
    assert plugin.read_poll(out) == (json.loads(PROGRESS), "running")


def test_a_poll_returns_at_once_when_the_job_is_over(tmp_path):
    write_job(tmp_path, DONE)
    seconds, out = run_poll(tmp_path, 5.0)
    assert seconds < 1.0
    assert plugin.read_poll(out)[1] == "done"


def test_a_poll_returns_soon_after_the_job_ends_while_it_waits(tmp_path):
    (tmp_path / "j1").write_text(RUNNING)
    time.sleep(0.01)
    (tmp_path / "progress.json").write_text(PROGRESS)
    finish = threading.Timer(0.5, lambda: write_job(tmp_path, DONE, progress=json.dumps({"phase": "done"})))
    finish.start()
    try:
        seconds, out = run_poll(tmp_path, 5.0)
    finally:
        finish.join()
    assert 0.45 <= seconds < 0.5 + 4 * plugin.CHECK_EVERY + 0.5
    assert plugin.read_poll(out) == ({"phase": "done"}, "done")


def test_a_poll_without_a_job_file_says_so(tmp_path):
    write_job(tmp_path, None)
    seconds, out = run_poll(tmp_path, 0.4)
    assert seconds >= 0.35  # nothing newer than the progress file: the poll takes its time
    assert plugin.read_poll(out) == (json.loads(PROGRESS), "missing")


def test_a_poll_returning_early_is_waited_out_by_the_controller(monkeypatch):
    """No progress file yet: the host's look says "over" at once, the job file says running;
    the controller then waits out the poll's time instead of polling again at once."""
    action, calls, clock = waiting_action(monkeypatch, [poll_output("", RUNNING)] * 5 + [poll_output("", DONE)])
    action._wait_for_job(READER, "/root/.ansible_async/j1", 10, "")
    assert len(calls) == 6
    assert clock.now - 1000.0 == pytest.approx(0.1 + 0.15 + 0.225 + 0.3375 + 0.50625)


MODULE_WITH_A_WARNING = """
from ansible.module_utils.basic import AnsibleModule
module = AnsibleModule(argument_spec={}, supports_check_mode=True)
module.warn("careful now")
module.exit_json(changed=True, stats={"uploaded": 3})
"""


def job_file_of_a_real_module(tmp_path):
    """What async_wrapper leaves in the job file: the output of an AnsibleModule of this
    ansible-core (since 2.19 its warnings are typed objects on the wire)."""
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {}}))
    module = [sys.executable, "-c", MODULE_WITH_A_WARNING, str(args)]
    done = subprocess.run(module, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def reading_action(answer):
    action = plugin.ActionModule.__new__(plugin.ActionModule)
    action._used_interpreter = None
    action._connection = type("Connection", (), {"_shell": type("Shell", (), {"quote": staticmethod(shlex.quote)})()})()
    commands = []
    action._shell = lambda cmd: (commands.append(cmd), answer)[1]
    return action, commands


def test_this_ansible_core_decodes_the_job_file_in_the_plugin():
    """Fails when ansible-core changes ActionBase._parse_returned_data: the plugin would then
    fall back to async_status (correct, 0.3 s slower) until it learns the new signature."""
    assert plugin.JOB_RESULT_DECODER in ("plain", "profile")


def test_the_job_result_is_decoded_as_a_module_result(tmp_path):
    action, commands = reading_action((0, job_file_of_a_real_module(tmp_path)))
    result = action._read_job_result("/root/.ansible_async/j1")
    assert commands == ["cat /root/.ansible_async/j1"]
    assert result["changed"] is True and result["stats"] == {"uploaded": 3}
    assert result["_ansible_parsed"] is True
    (warning,) = result["warnings"]
    assert "careful now" in (warning if isinstance(warning, str) else warning.event.msg)
    if plugin.JOB_RESULT_DECODER == "profile":  # 2.19+: a WarningSummary, as async_status would give
        assert type(warning).__name__ == "WarningSummary"


def test_the_job_result_falls_back_to_async_status(monkeypatch):
    action, _commands = reading_action((1, ""))
    assert action._read_job_result("/root/.ansible_async/j1") is None  # the job file unreadable
    monkeypatch.setattr(plugin, "JOB_RESULT_DECODER", None)
    action, commands = reading_action((0, "{}"))
    assert action._read_job_result("/root/.ansible_async/j1") is None  # an unknown ansible-core
    assert commands == []
