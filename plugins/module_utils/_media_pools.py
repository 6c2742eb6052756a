# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Running the planned transfers: a thread pool in the module's process, or forked worker
processes fed in batches, and the worker count sized from the round trip to the server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import gc
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

try:
    import queue
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity tests
    import Queue as queue  # type: ignore

from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile, join_key

SAMPLE_SIZE = 10
MIN_WORKERS = 16
MAX_WORKERS = 128
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's <malloc.h>


def limit_malloc_arenas(arenas=MALLOC_ARENAS):
    """Cap glibc's malloc arenas for this process and the workers it forks; True when set.

    glibc gives threads that meet on a lock arenas of their own (up to eight per core) and
    keeps each one's high-water mark: with the listing's and the transfers' threads, the
    module's memory grew with the length of the run rather than with what it holds. Call it
    before the first thread starts. Elsewhere (no glibc, no mallopt) it does nothing.
    """
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def auto_workers(round_trip):
    """Transfers in flight for a server ``round_trip`` seconds away (None: unknown).

    16 keep a loopback or LAN server at its ingest ceiling; past that each millisecond of
    round trip adds about one and a half transfers in flight, so that a server 40 ms away
    is kept as busy as a near one (Little's law), up to 128.
    """
    if not round_trip or round_trip <= 0:
        return MIN_WORKERS
    return int(max(MIN_WORKERS, min(MAX_WORKERS, MIN_WORKERS + round_trip * 1500)))


def run_threads(sync, items):
    """Run sync.move(item) with a bounded number of items in flight (memory stays flat).

    Stops early when the server keeps failing (it is down, or the credentials were
    revoked): retrying thousands of files one by one would only delay the report.
    """
    window = sync.workers * 4
    sync._consecutive_errors = 0
    with ThreadPoolExecutor(max_workers=sync.workers) as pool:
        pending = {}
        for item in items:
            if sync.aborted:
                break
            pending[pool.submit(sync.move, item)] = item
            if len(pending) >= window:
                done, _not_done = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    _finish(sync, future, pending.pop(future))
        for future in list(pending):
            _finish(sync, future, pending.pop(future))


def _finish(sync, future, item):
    local = item[0]
    name = join_key(sync.prefix, local.relpath)
    try:
        future.result()
        sync._consecutive_errors = 0
    except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
        sync.stats.add(errors=1)
        sync.stats.record("error", name, str(exc))
        sync._consecutive_errors += 1
        if sync._consecutive_errors >= sync.abort_after_errors:
            sync.aborted = True
            sync.abort_reason = str(exc)


class NullContext(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def process_pool(sync):
    """A pool of worker processes when asked for and possible, else None."""
    if sync.processes > 1:
        try:
            import multiprocessing

            context = multiprocessing.get_context("fork")
        except (ImportError, ValueError):  # no fork on this platform: threads only
            return None
        return ProcessPool(sync, context)
    return None


BATCH_SIZE = 16  # files per message to a worker process


class ProcessPool(object):
    """Worker processes (forked, each with its own client and a few threads) fed in batches.

    One Python process tops out at a few hundred small PUTs a second: request signing and
    botocore's per-request work hold the interpreter lock. Forked workers spread that over
    the cores. The scan and the plan stay in the parent, which sends ``(relpath, path, size)``
    batches through a bounded queue (memory stays flat) and counts the results coming back.
    A worker whose parent died stops by itself.
    """

    def __init__(self, sync, context):
        self.sync = sync
        self.context = context
        self.processes = sync.processes
        self.threads = max(1, -(-sync.workers // sync.processes))  # ceil
        self.tasks = context.Queue(maxsize=self.processes * self.threads * 2)
        self.results = context.Queue()
        self.stop = context.Event()
        self.workers = []
        self.sent = 0
        self.done = 0

    # ---- parent side ------------------------------------------------------------------------

    def __enter__(self):
        parent = os.getpid()
        # A forked worker shares the parent's pages until it writes to one, and a collection
        # in the worker writes to every tracked object it walks (boto3's, the plan's): each
        # worker would copy the parent's heap. Frozen objects are left out of collections.
        gc.freeze()
        try:
            for index in range(self.processes):
                proc = self.context.Process(target=self._worker_main, args=(parent,), name="media-sync-%d" % index)
                proc.daemon = True
                proc.start()
                self.workers.append(proc)
        finally:
            gc.unfreeze()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for proc in self.workers:
            proc.join(timeout=5)
        for proc in self.workers:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        for q in (self.tasks, self.results):
            q.close()
            q.cancel_join_thread()
        return False

    def _check_workers(self):
        for proc in self.workers:
            if proc.exitcode not in (None, 0):
                self._abort("a worker process died (exit code %s)" % proc.exitcode)
                return False
        return True

    def _abort(self, reason):
        sync = self.sync
        if not sync.aborted:
            sync.aborted = True
            sync.abort_reason = reason
        self.stop.set()

    def _drain(self, block):
        """Count the results that have come back; True when one was read."""
        try:
            message = self.results.get(timeout=0.2) if block else self.results.get_nowait()
        except queue.Empty:
            return False
        self._count(message)
        return True

    def _count(self, message):
        sync = self.sync
        stats = sync.stats
        kind = message[0]
        if kind == "fatal":
            self.done += 1
            self._abort(message[1])
            return
        _kind, ok, ok_bytes, names, errors, trailing_errors = message
        self.done += 1
        field = "uploaded" if sync.direction == "push" else "downloaded"
        stats.add(**{field: ok, "bytes": ok_bytes})
        for name in names:
            stats.record("transferred", name)
        for name, reason in errors:
            stats.add(errors=1)
            stats.record("error", name, reason)
        if errors:
            sync._consecutive_errors = trailing_errors if ok else sync._consecutive_errors + len(errors)
            if sync._consecutive_errors >= sync.abort_after_errors:
                self._abort(errors[-1][1])
        elif ok:
            sync._consecutive_errors = 0

    def _send(self, batch):
        while not self.sync.aborted:
            try:
                self.tasks.put(batch, timeout=0.2)
                if batch is not None:
                    self.sent += 1
                return
            except queue.Full:
                while self._drain(block=False):
                    pass
                self._check_workers()

    def run(self, items):
        sync = self.sync
        sync._consecutive_errors = 0
        batch = []
        for item in items:
            local = item[0]
            batch.append((local.relpath, local.path, local.size))
            if len(batch) >= BATCH_SIZE:
                self._send(batch)
                batch = []
                while self._drain(block=False):
                    pass
            if sync.aborted:
                break
        if batch and not sync.aborted:
            self._send(batch)
        for _index in range(self.processes * self.threads):
            self._send(None)  # one "no more work" per worker thread (not sent once aborted)
        while self.done < self.sent:
            if not self._drain(block=True) and not self._check_workers():
                break
            if sync.aborted and not any(proc.is_alive() for proc in self.workers):
                break

    # ---- worker side (in the forked process) ------------------------------------------------

    def _worker_main(self, parent):
        sync = self.sync
        try:
            sync.transfer = sync.transfer_factory(self.threads)
        except Exception as exc:  # noqa: BLE001 - told to the parent, which stops the run
            self.results.put(("fatal", "cannot make an S3 client: %s" % exc))
            return
        threads = [threading.Thread(target=self._worker_thread, args=(parent,)) for _index in range(self.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.results.close()
        self.results.join_thread()

    def _worker_thread(self, parent):
        sync = self.sync
        push = sync.direction == "push"
        while True:
            try:
                batch = self.tasks.get(timeout=1)
            except queue.Empty:
                if os.getppid() != parent or self.stop.is_set():
                    return
                continue
            if batch is None:
                return
            ok = ok_bytes = trailing = 0
            names = []
            errors = []
            for relpath, path, size in batch:
                name = join_key(sync.prefix, relpath) if push else relpath
                if self.stop.is_set():
                    break
                local = LocalFile(relpath, path, size)
                try:
                    if push:
                        sync.transfer.upload(local)
                    else:
                        sync.transfer.download(local)
                except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
                    errors.append((name, str(exc)))
                    trailing += 1
                    continue
                trailing = 0
                ok += 1
                ok_bytes += size
                if sync.stats.keep_files or len(names) < SAMPLE_SIZE:
                    names.append(name)
            self.results.put(("batch", ok, ok_bytes, names, errors, trailing))
