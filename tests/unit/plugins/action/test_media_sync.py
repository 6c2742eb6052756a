"""The media_sync action plugin: its progress line, and its polling of the job over any connection."""

import json

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
    action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "host: ")
    assert len(calls) == 4


def test_wait_fails_naming_the_job_file_when_it_stays_missing(monkeypatch):
    action, _calls, clock = waiting_action(monkeypatch, [poll_output("", RUNNING), poll_output("", plugin.NO_JOB_FILE)])
    with pytest.raises(AnsibleError, match=r"/root/\.ansible_async/j1 has been unreadable for 120 s"):
        action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "")
    assert 1000 + plugin.UNREADABLE_LIMIT < clock.now < 1000 + plugin.UNREADABLE_LIMIT + 5


def test_wait_rides_out_a_connection_bounce(monkeypatch):
    bounce = [AnsibleError("Failed to connect to the host via ssh")] * 20
    action, calls, _clock = waiting_action(monkeypatch, [poll_output("", RUNNING), *bounce, poll_output("", DONE)])
    action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "")
    assert len(calls) == 22


def test_wait_fails_when_the_host_stays_out_of_reach(monkeypatch):
    action, _calls, _clock = waiting_action(monkeypatch, [AnsibleError("Failed to connect to the host via ssh")])
    with pytest.raises(AnsibleError, match="j1 has been out of reach"):
        action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "")


def test_polls_start_quick_and_settle_at_one_a_second(monkeypatch):
    """A no-op resync ends in about a second: the first polls come at 0.1 s steps, a long copy
    is polled once a second (each poll is a command over the connection)."""
    action, calls, _clock = waiting_action(monkeypatch, [poll_output(PROGRESS, RUNNING)] * 30 + [poll_output("", DONE)])
    sleeps = []
    sleep = plugin.time.sleep
    monkeypatch.setattr(plugin.time, "sleep", lambda seconds: (sleeps.append(seconds), sleep(seconds)))
    action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "")
    assert sleeps[0] == pytest.approx(0.1)
    assert sum(sleeps[:4]) < 1.0, sleeps
    assert max(sleeps) == pytest.approx(1.0) and sleeps[-1] == pytest.approx(1.0)
    assert len(calls) == 31


def record(seconds, eta, phase="uploading", plan_complete=True):
    return {"phase": phase, "seconds": seconds, "eta_seconds": eta, "plan_complete": plan_complete}


@pytest.mark.parametrize(
    "progress, elapsed, expected",
    [
        (None, 50.0, 1.0),  # nothing read yet: the usual growth
        (record(40.0, 30.0), 45.0, 1.0),  # 25 s left by the ETA
        (record(40.0, 4.0), 42.0, plugin.FINISHING_POLL),  # 2 s left
        (record(40.0, 4.0), 50.0, plugin.FINISHING_POLL),  # overdue by the ETA: the end is near
        (record(40.0, None), 45.0, 1.0),  # no ETA (nothing to move, or no rate yet)
        (record(40.0, 1.0, plan_complete=False), 41.0, 1.0),  # an ETA that still guesses the rest
        (record(40.0, None, phase="done"), 41.0, plugin.FIRST_POLL),  # the module wrote its last record
    ],
    ids=["no-record", "far", "near", "overdue", "no-eta", "plan-incomplete", "done"],
)
def test_next_poll_comes_quick_at_the_end_of_a_copy(progress, elapsed, expected):
    assert plugin.next_poll(1.0, progress, elapsed) == pytest.approx(expected)


def test_next_poll_never_slower_than_its_growth():
    assert plugin.next_poll(0.1, record(40.0, 30.0), 41.0) == pytest.approx(0.15)
    assert plugin.next_poll(0.1, record(40.0, 1.0), 41.0) == pytest.approx(0.15)


def test_the_result_is_picked_up_soon_after_the_copy_ends(monkeypatch):
    """A 60 s copy whose ETA is right: the poll that finds the result comes within
    FINISHING_POLL of the end, not up to a second later."""
    clock_box = {}

    def output_at():
        elapsed = clock_box["clock"].now - 1000.0
        if elapsed >= 60.0:
            return poll_output(json.dumps(record(60.0, None, phase="done")), DONE)
        progress = record(elapsed, 60.0 - elapsed)
        return poll_output(json.dumps(progress), RUNNING)

    action, calls, clock = waiting_action(monkeypatch, [""])
    clock_box["clock"] = clock
    action._shell = lambda cmd: (calls.append(cmd), (0, output_at()))[1]
    action._wait_for_job("reader", "/root/.ansible_async/j1", 10, "")
    assert 60.0 <= clock.now - 1000.0 <= 60.0 + plugin.FINISHING_POLL + 1e-6
    assert len(calls) < 60 + 3 / plugin.FINISHING_POLL + 10  # about one a second until the end
