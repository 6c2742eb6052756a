# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback of the reliability suite (never shipped with the collection).

- Writes one JSON line per task start, change and failure to ``$RELIABILITY_EVENTS``, so a
  test can tell which phase failed and whether anything changed before it.
- Injects a fault: when a task whose name contains ``$RELIABILITY_FAULT_AT`` is about to
  start, it runs ``$RELIABILITY_FAULT_CMD`` (JSON argv, e.g. ``["docker", "kill", ...]``)
  once, before any host runs that task.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: reliability_events
type: aggregate
short_description: Records task events and injects one fault (reliability tests only)
description: Records task events and injects one fault (reliability tests only).
requirements: [enabled in ANSIBLE_CALLBACKS_ENABLED]
"""


def _short(name):
    """The task's own name, without "collection.role : "."""
    return name.split(" : ", 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "reliability_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("RELIABILITY_EVENTS")
        self.fault_at = os.environ.get("RELIABILITY_FAULT_AT", "")
        self.fault_cmd = json.loads(os.environ.get("RELIABILITY_FAULT_CMD", "[]"))
        self.fault_done = False

    def _write(self, **event):
        if not self.path:
            return
        event["time"] = time.time()
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, default=str) + "\n")

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = _short(task.get_name())
        self._write(event="task_start", task=name)
        if self.fault_at and not self.fault_done and self.fault_at in name:
            self.fault_done = True
            result = subprocess.run(self.fault_cmd, capture_output=True, text=True, check=False)
            self._write(event="fault", task=name, cmd=self.fault_cmd, rc=result.returncode)

    def v2_runner_on_ok(self, result):
        if result._result.get("changed"):
            self._write(event="changed", host=result._host.get_name(), task=_short(result._task.get_name()))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(
            event="failed",
            host=result._host.get_name(),
            task=_short(result._task.get_name()),
            ignored=ignore_errors,
            msg=result._result.get("msg", ""),
            stderr=result._result.get("stderr", ""),
        )

    def v2_runner_on_unreachable(self, result):
        self._write(
            event="unreachable",
            host=result._host.get_name(),
            task=_short(result._task.get_name()),
            msg=result._result.get("msg", ""),
        )
