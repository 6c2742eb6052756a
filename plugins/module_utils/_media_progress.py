# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a media sync reports while it runs: counters, and the progress file the action
plugin polls (its JSON fields are read by ``plugins/action/media_sync.py``: keep them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
import threading
import time

MB = 1024 * 1024
SAMPLE_SIZE = 10


class SyncStats(object):
    """Counters of one run; thread-safe where the workers touch them."""

    FIELDS = ("scanned", "uploaded", "downloaded", "skipped", "conflicts", "errors", "bytes", "bytes_total")

    def __init__(self, keep_files=False):
        self._lock = threading.Lock()
        self.keep_files = keep_files
        for field in self.FIELDS:
            setattr(self, field, 0)
        self.transferred_files = []
        self.conflict_files = []
        self.error_files = []
        self.sample = []
        self.started = time.time()

    def add(self, **counts):
        with self._lock:
            for field, value in counts.items():
                setattr(self, field, getattr(self, field) + value)

    def record(self, kind, name, detail=None):
        with self._lock:
            target = {
                "transferred": self.transferred_files,
                "conflict": self.conflict_files,
                "error": self.error_files,
            }[kind]
            limit = 100 if kind == "error" else SAMPLE_SIZE
            if self.keep_files or len(target) < limit:
                target.append(name if detail is None else {"key": name, "reason": detail})

    def as_dict(self):
        result = dict((field, getattr(self, field)) for field in self.FIELDS)
        result["seconds"] = round(time.time() - self.started, 3)
        return result


class ProgressFile(object):
    """Writes a one-line JSON progress record every ``interval`` seconds (watchers read it)."""

    def __init__(self, path, stats, interval=5.0):
        self.path = path
        self.stats = stats
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None
        self.phase = "scanning"
        self.plan_complete = False
        self.bytes_seen = 0  # sizes of the files compared so far
        self.local_files = self.local_bytes = None
        self.measure = None  # callable giving (files, bytes) of the whole tree, for the ETA
        self.measured = False

    def _measure(self):
        self.measured = True
        try:
            self.local_files, self.local_bytes = self.measure()
        except Exception:  # noqa: BLE001, S110 - only the ETA needs it
            pass

    def write(self):
        if not self.path:
            return
        data = self.stats.as_dict()
        data["phase"] = self.phase
        data["plan_complete"] = self.plan_complete
        elapsed = max(data["seconds"], 1e-6)
        data["files_per_second"] = round((data["uploaded"] + data["downloaded"]) / elapsed, 1)
        data["mb_per_second"] = round(data["bytes"] / MB / elapsed, 2)
        remaining = data["bytes_total"] - data["bytes"]
        if not self.plan_complete and self.local_bytes is not None:
            # Not compared yet: assume the rest of the tree has to move (a first copy).
            remaining += max(self.local_bytes - self.bytes_seen, 0)
            data["local_files"] = self.local_files
            data["local_bytes"] = self.local_bytes
        rate = data["bytes"] / elapsed
        data["eta_seconds"] = round(remaining / rate, 1) if rate > 0 and remaining > 0 else None
        # A fresh file renamed over the old one: readers never see half a record, and no
        # symbolic link planted next to it is followed. Progress is best effort: a write
        # that fails never stops the sync.
        try:
            fd, tmp = tempfile.mkstemp(prefix=".progress-", dir=os.path.dirname(os.path.abspath(self.path)))
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(data))
            os.rename(tmp, self.path)
        except OSError:
            pass

    def _loop(self):
        while not self._stop.wait(self.interval):
            # The ETA's walk of the whole tree waits until something is to move: a resync
            # that finds nothing missing never walks the tree twice (a second walk in this
            # thread would take the interpreter from the merge).
            if self.measure is not None and not self.measured and self.stats.bytes_total:
                self._measure()
            self.write()

    def __enter__(self):
        if self.path:
            self.write()
            self._thread = threading.Thread(target=self._loop, name="progress")
            self._thread.daemon = True
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.phase = "done"
        self.write()
