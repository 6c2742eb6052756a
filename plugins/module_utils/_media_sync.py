# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The media sync engine: a local tree to bucket/prefix (push) and back (pull), or another
bucket's prefix to bucket/prefix (copy), one engine with a direction.

Rules, in the order they matter to an admin:
- Nothing is ever deleted, locally or remotely.
- An object that exists with other content is a conflict: reported, never overwritten unless
  ``overwrite`` is set. The same holds for local files in the pull direction.
- Every object appears whole or not at all (a PUT or a completed multipart upload); a pulled
  file is written to a temporary name and renamed. A rerun after a kill moves what is
  missing, nothing twice.
- Memory stays flat in the file count: the plan is a streaming merge of the local walk and
  the bucket listing, both in key order; file lists are kept only when asked for.

Where each step lives: ``_media_tree`` (local walk, keys), ``_media_remote`` (listing,
ETags), ``_media_transfer`` (moving one file, engines), ``_media_copy`` (one object from
bucket to bucket, server-side or streamed), ``_media_pools`` (threads, worker
processes, worker count), ``_media_progress`` (counters, progress file),
``_media_errors`` (typed errors, reported once by the module).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import os
import stat

from ansible_collections.bookwyrm.s3.plugins.module_utils._media_copy import ObjectCopier, same_object
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import (
    MediaSyncListError,
    MediaSyncOptionError,
    MediaSyncPathError,
    MediaSyncSourceError,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_pools import (
    NullContext,
    auto_workers,
    process_pool,
    run_threads,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_progress import (
    MB,
    SAMPLE_SIZE,
    ProgressFile,
    SyncStats,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_remote import RemoteListing, same_content
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_transfer import (
    CACHE_CONTROL,
    Transfer,
    resolve_engine,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import (
    LocalFile,
    LocalTree,
    join_key,
    local_path,
    unsafe_key,
)

__all__ = ["CANNED_ACLS", "MB", "SAMPLE_SIZE", "MediaSync", "validate_options"]

LISTING_WORKERS = 16
COUNT_BATCH = 1000  # files the planner counts before it adds them to the shared stats

CANNED_ACLS = (
    "",
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)


def validate_options(params):
    """Raise MediaSyncOptionError/MediaSyncPathError for values the engine cannot work with."""
    path = params["path"]
    if params.get("source"):
        if params["direction"] != "push":
            raise MediaSyncOptionError(message="source copies into the bucket: leave direction at push.")
    elif not os.path.isdir(path):
        if params["direction"] == "push":
            raise MediaSyncPathError(
                message="path %s is not a directory. Give the media directory, e.g. the media "
                "volume's Mountpoint from 'docker volume inspect'." % path
            )
        if not os.path.isdir(os.path.dirname(path.rstrip("/")) or "/"):
            raise MediaSyncPathError(message="path %s does not exist and neither does its parent." % path)
    if not 0 <= params["workers"] <= 256:
        raise MediaSyncOptionError(
            message="workers must be between 0 (adapt to the server's distance) and 256, got %d." % params["workers"]
        )
    if not 0 <= params["processes"] <= 64:
        raise MediaSyncOptionError(message="processes must be between 0 (auto) and 64, got %d." % params["processes"])
    if params["progress_interval"] < 0:
        raise MediaSyncOptionError(message="progress_interval must be 0 (off) or more seconds.")
    if params["acl"] not in CANNED_ACLS:
        raise MediaSyncOptionError(
            message="acl %r is not a canned ACL; use one of: %s (empty for none)."
            % (params["acl"], ", ".join(a for a in CANNED_ACLS if a))
        )
    if params["multipart_chunksize_mb"] < 5:
        raise MediaSyncOptionError(message="multipart_chunksize_mb must be at least 5 (S3's smallest part size).")
    if params["multipart_threshold_mb"] < 5:
        raise MediaSyncOptionError(message="multipart_threshold_mb must be at least 5.")
    resolve_engine(params.get("engine"))


class MediaSync(object):
    """Plan and carry out one sync. ``client`` is a boto3 S3 client (thread-safe).

    ``list_client`` (default ``client``) lists the target bucket.
    ``workers=0`` sizes the transfers in flight from the round trip of the first listing
    requests. ``client_factory(connections)`` makes the client of a forked worker process.
    ``direction="copy"`` reads from ``source`` (a ``_media_copy.CopySource``) instead of ``root``.
    """

    def __init__(
        self,
        client,
        bucket,
        prefix,
        root,
        direction="push",
        acl=None,
        compare="size",
        overwrite=False,
        workers=16,
        multipart_threshold=64 * MB,
        multipart_chunksize=16 * MB,
        cache_control=CACHE_CONTROL,
        keep_files=False,
        progress_path=None,
        check_mode=False,
        client_factory=None,
        processes=1,
        progress_interval=5.0,
        engine=None,
        crt_factory=None,
        signed_put_factory=None,
        source=None,
        list_client=None,
    ):
        if direction not in ("push", "pull", "copy"):
            raise MediaSyncOptionError(message="direction must be push, pull or copy, got %r." % direction)
        if (direction == "copy") != (source is not None):
            raise MediaSyncOptionError(message="a copy needs a source bucket, and only a copy takes one.")
        self.source = source
        self.client = client
        self.client_factory = client_factory
        self.list_client = list_client  # a client that leaves timestamps as text (the module's)
        self.engine = resolve_engine(engine or "boto3")
        self.crt_factory = crt_factory
        self.signed_put_factory = signed_put_factory  # (client, bucket) -> SignedPut or None
        self.requested_workers = max(0, workers or 0)
        self.workers = self.requested_workers or auto_workers(None)
        self.requested_processes = processes or 1
        self.processes = 1
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.root = root
        self.direction = direction
        self.compare, self.overwrite, self.check_mode = compare, overwrite, check_mode
        self.multipart_chunksize = multipart_chunksize
        # what each process's Transfer or ObjectCopier is made with
        self.mover_options = dict(
            acl=acl or None,
            cache_control=cache_control,
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
        )
        self.stats = SyncStats(keep_files)
        self.progress = ProgressFile(progress_path, self.stats, progress_interval)
        self.tree = LocalTree(root) if direction != "copy" else None
        if direction == "push":
            self.progress.measure = self.tree.measure
        self.listing = None
        self.aborted = False
        self.abort_reason = None
        self._consecutive_errors = 0
        self._moving_phase = {"push": "uploading", "pull": "downloading", "copy": "copying"}[direction]
        self.transfer = None
        self.round_trip = None

    # ---- the parts each process makes ------------------------------------------------------

    def transfer_factory(self, connections=None):
        """A Transfer for this process (called again in each forked worker)."""
        client = self.client
        if connections is not None and self.client_factory is not None:
            try:
                client = self.client_factory(connections)
            except TypeError:  # a factory that takes no argument (tests)
                client = self.client_factory()
        if self.direction == "copy":
            return ObjectCopier(client, self.bucket, self.prefix, self.source, **self.mover_options)
        return Transfer(
            client,
            self.bucket,
            self.prefix,
            engine=self.engine,
            crt_factory=self.crt_factory,
            signed_put_factory=self.signed_put_factory,
            **self.mover_options,
        )

    # ---- deciding --------------------------------------------------------------------------

    def _differs(self, local, size, etag):
        """True when content differs, False when equal, None when it cannot be told."""
        if size != local.size:
            return True
        if self.compare == "size":
            return False
        equal = same_content(local, etag, (self.multipart_chunksize,))
        return None if equal is None else not equal

    def _remote(self):
        self.listing = RemoteListing(
            self.list_client or self.client,
            self.bucket,
            self.prefix,
            workers=LISTING_WORKERS,
            missing_bucket_is_empty=self.check_mode,
        )
        return iter(self.listing)

    def plan(self):
        """Yield (LocalFile or RemoteObject, reason) for what must move; count the rest."""
        self.progress.phase = "listing"
        return {"push": self._push_plan, "pull": self._pull_plan, "copy": self._copy_plan}[self.direction]()

    def _push_plan(self):
        """A merge of two sorted streams: the local walk and the bucket listing."""
        return self._merge_plan(self.tree.files())

    def _copy_plan(self):
        """The same merge as a push, with the source bucket's listing in place of the local walk."""
        return self._merge_plan(self._source_objects())

    def _compare(self, item, current):
        """True when ``item`` (local file or source object) differs from the target's object."""
        if self.direction == "copy":
            same = same_object(item, current, self.compare)
            return None if same is None else not same
        return self._differs(item, current.size, current.etag)

    def _merge_plan(self, items):
        """Walk ``items`` (in key order) beside the target's listing: missing, same or conflict."""
        remote = self._remote()
        current = next(remote, None)
        self.progress.phase = "comparing" if self.check_mode else self._moving_phase
        # Counted here and added in batches: stats.add's lock costs more than the comparison
        # itself, and a resync counts every file twice (scanned, skipped).
        scanned = skipped = 0
        try:
            for item in items:
                scanned += 1
                if scanned == COUNT_BATCH:
                    self.stats.add(scanned=scanned, skipped=skipped)
                    scanned = skipped = 0
                self.progress.bytes_seen += item.size
                while current is not None and current.relpath < item.relpath:
                    current = next(remote, None)  # only in the target bucket: left alone
                if current is None or current.relpath != item.relpath:
                    yield item, "missing"
                    continue
                differs = self._compare(item, current)
                if differs is False:
                    skipped += 1
                elif self.overwrite and differs:
                    yield item, "changed"
                else:
                    reason = "content differs" if differs else "content cannot be compared (non-MD5 ETag)"
                    if differs is None and self.compare == "size":
                        reason = "same size"
                    self.stats.add(conflicts=1)
                    self.stats.record("conflict", join_key(self.prefix, item.relpath), reason)
        finally:
            self.stats.add(scanned=scanned, skipped=skipped)

    def _source_objects(self):
        """The source bucket's objects in key order; its errors name the source, not the target."""
        listing = RemoteListing(self.source.client, self.source.bucket, self.source.prefix, workers=LISTING_WORKERS)
        try:
            yield from listing
        except MediaSyncListError as exc:
            raise MediaSyncSourceError(
                message="Listing the source %s" % self.source.label(), exception=exc.exception
            ) from exc

    def _pull_plan(self):
        first = True
        for obj in self._remote():
            if first:
                self.progress.phase = "comparing" if self.check_mode else self._moving_phase
                first = False
            rel, size = obj.relpath, obj.size
            self.stats.add(scanned=1)
            if unsafe_key(rel):
                self.stats.add(errors=1)
                self.stats.record("error", rel, "unsafe key: would leave the media directory")
                continue
            path = local_path(self.root, rel)
            try:
                st = os.lstat(path)
            except OSError:
                yield LocalFile(rel, path, size), "missing"
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size == size:
                local = LocalFile(rel, path, size)
                if self.compare == "size" or same_content(local, obj.etag, (self.multipart_chunksize,)) is not False:
                    self.stats.add(skipped=1)
                    continue
            if self.overwrite and stat.S_ISREG(st.st_mode):
                yield LocalFile(rel, path, size), "changed"
            else:
                self.stats.add(conflicts=1)
                self.stats.record("conflict", rel, "local file differs")

    # ---- moving ----------------------------------------------------------------------------

    def _name(self, local):
        return local.relpath if self.direction == "pull" else join_key(self.prefix, local.relpath)

    def move(self, item):
        local = item[0]
        if self.direction == "copy":
            self.transfer.copy(local)
            self.stats.add(uploaded=1, bytes=local.size)
        elif self.direction == "push":
            self.transfer.upload(local)
            self.stats.add(uploaded=1, bytes=local.size)
        else:
            self.transfer.download(local)
            self.stats.add(downloaded=1, bytes=local.size)
        self.stats.record("transferred", self._name(local))

    def _size_workers(self):
        """Once the first listing requests are back: how many transfers run at once."""
        if self.listing is not None:
            self.round_trip = self.listing.min_round_trip()
        if not self.requested_workers:
            self.workers = auto_workers(self.round_trip)
        self.processes = max(1, min(self.requested_processes, self.workers)) if self.client_factory else 1
        if self.engine == "crt" or self.direction == "copy":
            # the CRT runs its own native threads; a copy is mostly the server's work
            self.processes = 1
        self.abort_after_errors = max(10, 2 * self.workers)

    def run(self):
        field = "downloaded" if self.direction == "pull" else "uploaded"
        with self.progress:
            planned = self.plan()
            if self.check_mode:
                for local, _reason in planned:
                    self.stats.add(bytes=local.size, bytes_total=local.size, **{field: 1})
                    self.stats.record("transferred", self._name(local))
            else:
                first = next(planned, None)  # the listing has started: its round trips are known
                self._size_workers()
                if first is not None:
                    self._move_all(itertools.chain([first], planned))
            self.progress.plan_complete = True
        return self.result()

    def _move_all(self, planned):
        def counted():
            for item in planned:
                self.stats.add(bytes_total=item[0].size)
                yield item
            self.progress.plan_complete = True

        pool = process_pool(self)
        if pool is not None:
            with pool:
                pool.run(counted())
            return
        self.transfer = self.transfer_factory(self.workers if self.client_factory else None)
        try:
            with NullContext():
                run_threads(self, counted())
        finally:
            self.transfer.close()

    def result(self):
        # Counters go under "stats": a top-level "skipped" would mark the task as skipped.
        result = {"stats": self.stats.as_dict()}
        result["stats"]["workers"] = self.workers
        result["stats"]["processes"] = self.processes
        result["stats"]["engine"] = self.engine
        result["conflict_files"] = self.stats.conflict_files
        result["error_files"] = self.stats.error_files
        result["skipped_symlinks"] = self.tree.skipped_symlinks if self.tree else []
        result["skipped_names"] = self.tree.skipped_names if self.tree else []
        if self.source is not None:
            source = self.source
            result["source"] = {"bucket": source.bucket, "prefix": source.prefix, "method": source.method}
        result["aborted"] = self.aborted
        result["abort_reason"] = self.abort_reason
        if self.stats.keep_files:
            result["transferred_files"] = self.stats.transferred_files
        else:
            result["sample"] = self.stats.transferred_files[:SAMPLE_SIZE]
        return result
