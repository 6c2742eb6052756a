# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of bookwyrm.s3.media_sync: shows progress while a long sync runs.

A module cannot print while it runs. This plugin starts the module the way ``async:``
does (``_execute_module(wrap_async=True)``, Ansible's async_wrapper on the target), reads
the module's progress file with one cheap shell command over the task's own connection
(local, ssh, any become; every 0.1 s at first, every second once the job has run a while,
each poll waiting on the host and returning as soon as the job ends),
prints a progress line every ``progress_interval`` seconds, and when the job is done reads
its result from the job file (decoded as any module's output is) and returns it unchanged.
Only counters are displayed, never an argument.

The module runs as usual (no progress lines) when the task sets ``async:`` itself, when
``progress_interval`` is 0, or on a connection with native async (Windows).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import inspect
import json
import re
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

display = Display()

JOB_LIMIT = 7 * 24 * 3600  # async_wrapper's time limit: long enough for any media volume
# How long the job may stay out of sight (its file missing, or every poll failing) before the
# task fails. The job itself goes on; a rerun of the play resumes where it stopped.
UNREADABLE_LIMIT = 120
# The job file's head while the job runs: async_wrapper writes booleans since ansible-core 2.19,
# 1 and 0 before. Enough of the file is read to tell.
RUNNING_HEAD = re.compile(r'^\{"started": (?:true|1), "finished": (?:false|0)\b')
HEAD_BYTES = len('{"started": true, "finished": false')
SEPARATOR = "--bookwyrm-s3-media-sync--"
NO_JOB_FILE = "--bookwyrm-s3-no-job-file--"
ASYNC_KEYS = ("ansible_job_id", "started", "finished", "results_file")
# Polls start quick, since a resync with nothing to do ends in about a second, and slow down to
# one a second for a long copy: each poll is one command over the connection. A poll waits on
# the host for its time and looks at the job every CHECK_EVERY seconds meanwhile, so a
# finished job is seen within that, not up to a whole poll later (half a second on average).
FIRST_POLL, POLL_GROWTH, LONGEST_POLL = 0.1, 1.5, 1.0
# The job file holds what the module printed; ActionBase._parse_returned_data decodes it as it
# decodes any module's output (since ansible-core 2.19 by the module's wire profile, AnsibleModule's
# being "legacy"). Its two known signatures; with any other the result is read by async_status.
MODULE_WIRE_PROFILE = "legacy"
JOB_RESULT_DECODER = {("self", "res"): "plain", ("self", "res", "profile"): "profile"}.get(
    tuple(inspect.signature(ActionBase._parse_returned_data).parameters)
)
CHECK_EVERY = 0.2  # a look costs one `sleep` process: about 1 ms of CPU


def human_bytes(count):
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return "%.1f %s" % (count, unit) if unit != "B" else "%d B" % count
        count /= 1024.0
    return "%.1f TB" % count  # pragma: no cover - unreachable


def human_seconds(seconds):
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % divmod(seconds, 60)
    hours, rest = divmod(seconds, 3600)
    return "%dh%02dm" % (hours, rest // 60)


def progress_line(record):
    """One line from a progress record of the module; None when there is nothing to say."""
    phase = record.get("phase", "")
    moved = int(record.get("uploaded", 0)) + int(record.get("downloaded", 0))
    if phase in ("listing", "scanning"):
        return "%s the bucket and the local tree" % phase
    done_bytes = int(record.get("bytes", 0))
    total_bytes = int(record.get("bytes_total", 0))
    parts = [phase or "working"]
    if record.get("plan_complete"):
        parts.append("%d files, %s of %s" % (moved, human_bytes(done_bytes), human_bytes(total_bytes)))
    elif record.get("local_bytes") is not None:
        parts.append(
            "%d files, %s (of at most %d files, %s; %d compared)"
            % (
                moved,
                human_bytes(done_bytes),
                int(record["local_files"]),
                human_bytes(int(record["local_bytes"])),
                int(record.get("scanned", 0)),
            )
        )
    else:
        parts.append("%d files, %s (%d compared)" % (moved, human_bytes(done_bytes), int(record.get("scanned", 0))))
    parts.append("%s files/s, %s MB/s" % (record.get("files_per_second", 0), record.get("mb_per_second", 0)))
    if record.get("skipped"):
        parts.append("%d already there" % record["skipped"])
    if record.get("errors"):
        parts.append("%d errors" % record["errors"])
    eta = record.get("eta_seconds")
    if eta is not None:
        parts.append("ETA %s" % human_seconds(eta) if record.get("plan_complete") else "ETA <= %s" % human_seconds(eta))
    return ", ".join(parts)


def poll_command(quote, progress_path, job_file, wait):
    """The shell command of one poll: it waits up to ``wait`` seconds while the job runs, then
    prints the progress record, the separator and the head of the job file.

    The job is over once its file is newer than the progress file: the module writes its last
    record before it ends, async_wrapper its result after. A shell builtin tells (no process
    per look); where it cannot (no progress file yet, a shell without ``-nt``, file times in
    whole seconds) the poll just waits its time, as it did before it looked.
    """
    return (
        "i=0; while [ $i -lt {looks} ] && ! [ {job} -nt {progress} ] 2>/dev/null; do sleep {every}; i=$((i+1)); done;"
        " cat {progress} 2>/dev/null; echo; echo {separator};"
        " if [ -r {job} ]; then head -c {head} {job}; else echo {no_job}; fi"
    ).format(
        looks=round(wait / CHECK_EVERY),
        every=CHECK_EVERY,
        job=quote(job_file),
        progress=quote(progress_path),
        separator=SEPARATOR,
        head=HEAD_BYTES,
        no_job=NO_JOB_FILE,
    )


def read_poll(output):
    """(progress record, job state) from one poll's output; state is running, done or missing.

    Over ssh the poll runs in a pty, so its lines end in CRLF; locally they end in LF.
    async_wrapper replaces the job file by a rename, so a poll sees either the running
    record or the whole result, never a torn file.
    """
    text = to_text(output, errors="surrogate_or_strict").replace("\r\n", "\n")
    progress_text, found, job_head = text.partition(SEPARATOR + "\n")
    if not found:
        return None, "missing"
    job_head = job_head.strip()
    if job_head == NO_JOB_FILE or not job_head:
        state = "missing"
    elif RUNNING_HEAD.match(job_head):
        state = "running"
    else:
        state = "done"
    try:
        progress = json.loads(progress_text.strip() or "{}")
    except ValueError:
        progress = None  # the module was writing it just then
    return progress if isinstance(progress, dict) else None, state


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        task_vars = task_vars or {}

        interval = self._task.args.get("progress_interval", 10)
        try:
            interval = int(interval)
        except (TypeError, ValueError):
            interval = 10  # the module reports the bad value
        if self._task.async_val or interval <= 0 or self._connection.has_native_async:
            wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result

        return merge_hash(result, self._run_with_progress(task_vars, interval))

    # ------------------------------------------------------------------------------------------

    def _shell(self, cmd):
        res = self._low_level_execute_command(cmd, sudoable=True)
        return res.get("rc", 1), to_text(res.get("stdout", ""), errors="surrogate_or_strict")

    def _wait_for_job(self, reader, job_file, interval, host_label):
        """Poll until the job file holds the module's result; show progress meanwhile."""
        last_shown = last_seen = time.time()
        wait = FIRST_POLL
        while True:
            polled = time.time()
            try:
                _rc, out = self._shell(reader(wait))
                progress, state = read_poll(out)
            except AnsibleError as exc:  # a connection bounce: the job goes on, so does the wait
                display.vvvv("media_sync: progress poll failed (%s), retrying" % to_text(exc))
                progress, state = None, "unreachable"
            if state == "done":
                return
            # A poll that came back early without the result (no progress file yet, the job
            # file unreadable, the host out of reach) waits out its time here.
            time.sleep(max(0.0, wait - (time.time() - polled)))
            wait = min(wait * POLL_GROWTH, LONGEST_POLL)
            now = time.time()
            if state == "running":
                last_seen = now
            elif now - last_seen > UNREADABLE_LIMIT:
                raise AnsibleError(
                    "media_sync: the job file %s has been %s for %d s; the sync may still be running"
                    " on the host (its progress is in the progress file). Run the play again to resume."
                    % (job_file, "unreadable" if state == "missing" else "out of reach", UNREADABLE_LIMIT)
                )
            if now - last_shown >= interval:
                last_shown = now
                line = progress_line(progress) if progress else None
                display.display("%smedia_sync: %s" % (host_label, line or "starting"))

    def _read_job_result(self, job_file):
        """The module's result from its job file, decoded as ``_execute_module`` decodes a module's
        output; None where this ansible-core's decoder is not one this plugin knows (the caller
        then runs async_status, a module run of its own: about 0.3 s more)."""
        if JOB_RESULT_DECODER is None:
            return None
        rc, text = self._shell("cat %s" % self._connection._shell.quote(job_file))
        if rc != 0:
            return None
        returned = dict(rc=0, stdout=text, stderr="")
        if JOB_RESULT_DECODER == "profile":
            result = self._parse_returned_data(returned, MODULE_WIRE_PROFILE)
        else:
            result = self._parse_returned_data(returned)
        remove_internal_keys(result)
        return result

    def _run_with_progress(self, task_vars, interval):
        shell = self._connection._shell
        if shell.tmpdir is None:
            self._make_tmp_path()
        module_args = dict(self._task.args)
        own_progress = module_args.get("progress_file")
        progress_path = own_progress or shell.join_path(shell.tmpdir, "media_sync_progress.json")
        module_args["progress_file"] = progress_path
        module_args["progress_interval"] = max(1, min(interval, 5))

        saved_async = self._task.async_val
        self._task.async_val = JOB_LIMIT  # async_wrapper's time limit
        try:
            started = self._execute_module(module_args=module_args, task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = saved_async
        jid = started.get("ansible_job_id")
        if not jid or started.get("failed"):
            return started
        job_file = started.get("results_file")
        if not job_file:
            async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
            job_file = shell.join_path(async_dir, jid)

        host = task_vars.get("inventory_hostname", "")
        check = "%s: " % host if host else ""
        reader = functools.partial(poll_command, shell.quote, progress_path, job_file)
        self._wait_for_job(reader, job_file, interval, check)

        status = self._read_job_result(job_file)
        if status is None:
            status = self._execute_module(
                module_name="ansible.legacy.async_status",
                module_args=dict(jid=jid, mode="status", _async_dir=job_file.rsplit("/", 1)[0]),
                task_vars=task_vars,
            )
        cleanup = "rm -f %s" % shell.quote(job_file)
        if not own_progress:
            cleanup += " %s" % shell.quote(progress_path)
        self._shell(cleanup)
        self._remove_tmp_path(shell.tmpdir)
        for key in ASYNC_KEYS:
            status.pop(key, None)
        return status
