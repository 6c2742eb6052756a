# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The media sync engine: a local tree to bucket/prefix (push) and back (pull).

Rules, in the order they matter to an admin:
- Nothing is ever deleted, locally or remotely.
- An object that exists with other content is a conflict: reported, never overwritten unless
  ``overwrite`` is set. The same holds for local files in the pull direction.
- Every object appears whole or not at all (a PUT or a completed multipart upload); a pulled
  file is written to a temporary name and renamed. A rerun after a kill moves what is
  missing, nothing twice.
- Memory stays bounded: the local tree is streamed, the remote listing is kept as one compact
  entry per object, file lists are kept only when asked for (plus a small sample).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import mimetypes
import os
import stat
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

CACHE_CONTROL = "max-age=86400"  # what BookWyrm's storages set on every object
DEFAULT_CONTENT_TYPE = "application/octet-stream"
SAMPLE_SIZE = 10
MB = 1024 * 1024

# Types Python's table misses on some systems; fonts matter for the CORS-served theme.
EXTRA_TYPES = {
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def content_type(name):
    ext = os.path.splitext(name)[1].lower()
    if ext in EXTRA_TYPES:
        return EXTRA_TYPES[ext]
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def join_key(prefix, relpath):
    prefix = prefix.strip("/")
    return "%s/%s" % (prefix, relpath) if prefix else relpath


class LocalFile(object):
    __slots__ = ("path", "relpath", "size")

    def __init__(self, relpath, path, size):
        self.relpath = relpath
        self.path = path
        self.size = size


class LocalTree(object):
    """Streams the regular files below ``root``; symlinks are never followed out of it."""

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.skipped_symlinks = []
        self.skipped_names = []

    def _inside(self, path):
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root + os.sep)

    def files(self):
        stack = [("", self.root)]
        while stack:
            rel_dir, abs_dir = stack.pop()
            try:
                entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                rel = rel_dir + entry.name
                try:
                    rel.encode("utf-8")
                except UnicodeEncodeError:
                    # Not valid UTF-8 on disk: no S3 key can name it faithfully.
                    self.skipped_names.append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                    continue
                if entry.is_symlink():
                    # A link to a file inside the tree is uploaded under the link's name;
                    # anything else (outside the tree, a directory, dangling) is skipped.
                    if not self._inside(entry.path) or not entry.is_file(follow_symlinks=True):
                        self.skipped_symlinks.append(rel)
                        continue
                    yield LocalFile(rel, entry.path, os.stat(entry.path).st_size)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield LocalFile(rel, entry.path, entry.stat(follow_symlinks=False).st_size)


def list_remote(client, bucket, prefix, missing_bucket_is_empty=False):
    """{relative key: (size, etag)} for every object under prefix (paginated listing).

    ``missing_bucket_is_empty``: a dry run before the bucket exists plans against an empty one.
    """
    prefix = prefix.strip("/")
    list_prefix = prefix + "/" if prefix else ""
    index = {}
    paginator = client.get_paginator("list_objects_v2")
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=list_prefix):
            for obj in page.get("Contents", ()):
                rel = obj["Key"][len(list_prefix) :]
                if rel and not rel.endswith("/"):
                    index[rel] = (obj["Size"], obj.get("ETag", "").strip('"'))
    except Exception as exc:  # noqa: BLE001 - only a missing bucket in a dry run is handled
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        if missing_bucket_is_empty and code == "NoSuchBucket":
            return {}
        raise
    return index


def file_md5(path, chunk=MB):
    digest = hashlib.md5()  # noqa: S324 - S3's ETag is an MD5, not a security check
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# Part sizes uploaders commonly use (boto3/aws-cli 8 MiB, rclone 5 MiB, s3cmd 15 MiB, ...).
COMMON_PART_SIZES = (8 * MB, 5 * MB, 16 * MB, 15 * MB, 10 * MB, 64 * MB, 100 * MB)


def candidate_part_sizes(size, parts, preferred=()):
    """Part sizes that cut ``size`` bytes into exactly ``parts`` parts, likeliest first.

    The ETag keeps the part count, not the size: try the sizes uploaders use, then the
    powers of two.
    """
    candidates = list(preferred) + list(COMMON_PART_SIZES)
    power = MB
    while power <= 5 * 1024 * MB:
        candidates.append(power)
        power *= 2
    seen = set()
    for part_size in candidates:
        if part_size in seen or part_size <= 0:
            continue
        seen.add(part_size)
        if (size + part_size - 1) // part_size == parts:
            yield part_size


def multipart_etag(path, part_size):
    """The ETag S3 gives a multipart upload of this file in parts of ``part_size``."""
    digests = []
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(part_size), b""):
            digests.append(hashlib.md5(block).digest())  # noqa: S324
    return "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))  # noqa: S324


def same_content(local, remote_etag, preferred_part_sizes=()):
    """True/False when the content can be compared with the ETag, None when it cannot."""
    if "-" in remote_etag:
        _head, _sep, count = remote_etag.rpartition("-")
        if not count.isdigit():
            return None
        for part_size in candidate_part_sizes(local.size, int(count), preferred_part_sizes):
            if multipart_etag(local.path, part_size) == remote_etag:
                return True
        return None  # written with a part size we cannot guess: unknown, not "different"
    if len(remote_etag) == 32:
        return file_md5(local.path) == remote_etag
    return None  # an ETag that is not an MD5 (SSE-KMS, some providers): cannot tell


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

    def write(self):
        if not self.path:
            return
        data = self.stats.as_dict()
        data["phase"] = self.phase
        elapsed = max(data["seconds"], 1e-6)
        data["files_per_second"] = round((data["uploaded"] + data["downloaded"]) / elapsed, 1)
        data["mb_per_second"] = round(data["bytes"] / MB / elapsed, 2)
        remaining = data["bytes_total"] - data["bytes"]
        rate = data["bytes"] / elapsed
        data["eta_seconds"] = round(remaining / rate, 1) if rate > 0 and remaining > 0 else None
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(json.dumps(data))
        os.rename(tmp, self.path)

    def _loop(self):
        while not self._stop.wait(self.interval):
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


class MediaSync(object):
    """Plan and carry out one sync. ``client`` is a boto3 S3 client (thread-safe)."""

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
    ):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.root = root
        self.direction = direction
        self.acl = acl or None
        self.compare = compare
        self.overwrite = overwrite
        self.workers = max(1, workers)
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize
        self.cache_control = cache_control
        self.check_mode = check_mode
        self.stats = SyncStats(keep_files)
        self.progress = ProgressFile(progress_path, self.stats)
        self._transfer_config = None
        self.aborted = False
        self.abort_reason = None
        self.abort_after_errors = max(10, 2 * self.workers)

    # ---- deciding -------------------------------------------------------------------------

    def _differs(self, local, remote):
        """True when content differs, False when equal, None when it cannot be told."""
        size, etag = remote
        if size != local.size:
            return True
        if self.compare == "size":
            return False
        equal = same_content(local, etag, (self.multipart_chunksize,))
        return None if equal is None else not equal

    def push_plan(self):
        """Yield (LocalFile, reason) for what must be uploaded; count the rest."""
        self.progress.phase = "listing"
        remote = list_remote(self.client, self.bucket, self.prefix, missing_bucket_is_empty=self.check_mode)
        self.progress.phase = "comparing"
        tree = LocalTree(self.root)
        for local in tree.files():
            self.stats.add(scanned=1)
            existing = remote.pop(local.relpath, None)
            if existing is None:
                yield local, "missing"
                continue
            differs = self._differs(local, existing)
            if differs is False:
                self.stats.add(skipped=1)
            elif self.overwrite and differs:
                yield local, "changed"
            else:
                reason = "content differs" if differs else "content cannot be compared (non-MD5 ETag)"
                if differs is None and self.compare == "size":
                    reason = "same size"
                self.stats.add(conflicts=1)
                self.stats.record("conflict", join_key(self.prefix, local.relpath), reason)
        self.skipped_symlinks = tree.skipped_symlinks
        self.skipped_names = tree.skipped_names

    # ---- moving ---------------------------------------------------------------------------

    def _extra_args(self, name):
        args = {"ContentType": content_type(name)}
        if self.cache_control:
            args["CacheControl"] = self.cache_control
        if self.acl:
            args["ACL"] = self.acl
        return args

    def upload(self, local):
        key = join_key(self.prefix, local.relpath)
        extra = self._extra_args(local.relpath)
        if local.size >= self.multipart_threshold:
            from boto3.s3.transfer import TransferConfig  # only big files need the transfer manager

            if self._transfer_config is None:
                self._transfer_config = TransferConfig(
                    multipart_threshold=self.multipart_threshold,
                    multipart_chunksize=self.multipart_chunksize,
                    max_concurrency=4,
                )
            self.client.upload_file(local.path, self.bucket, key, ExtraArgs=extra, Config=self._transfer_config)
        else:
            with open(local.path, "rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        return key

    def _run_parallel(self, items, action):
        """Run action(item) with a bounded number of items in flight (memory stays flat).

        Stops early when the server keeps failing (it is down, or the credentials were
        revoked): retrying thousands of files one by one would only delay the report.
        """
        window = self.workers * 4
        self._consecutive_errors = 0
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            pending = {}
            for item in items:
                if self.aborted:
                    break
                pending[pool.submit(action, item)] = item
                if len(pending) >= window:
                    done, _not_done = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(future, pending.pop(future))
            for future in list(pending):
                self._finish(future, pending.pop(future))

    def _finish(self, future, item):
        local = item[0]
        name = join_key(self.prefix, local.relpath)
        try:
            future.result()
            self._consecutive_errors = 0
        except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
            self.stats.add(errors=1)
            self.stats.record("error", name, str(exc))
            self._consecutive_errors += 1
            if self._consecutive_errors >= self.abort_after_errors:
                self.aborted = True
                self.abort_reason = str(exc)

    def _push_one(self, item):
        local, _reason = item
        self.upload(local)
        self.stats.add(uploaded=1, bytes=local.size)
        self.stats.record("transferred", join_key(self.prefix, local.relpath))

    def push(self):
        with self.progress:
            if self.check_mode:
                for local, _reason in self.push_plan():
                    self.stats.add(uploaded=1, bytes=local.size, bytes_total=local.size)
                    self.stats.record("transferred", join_key(self.prefix, local.relpath))
                return self.result()
            self.progress.phase = "uploading"

            def planned():
                for item in self.push_plan():
                    self.stats.add(bytes_total=item[0].size)
                    yield item

            self._run_parallel(planned(), self._push_one)
        return self.result()

    # ---- pull (rollback) ------------------------------------------------------------------

    def pull_plan(self):
        self.progress.phase = "listing"
        remote = list_remote(self.client, self.bucket, self.prefix, missing_bucket_is_empty=self.check_mode)
        self.progress.phase = "comparing"
        for rel in sorted(remote):
            size, etag = remote[rel]
            self.stats.add(scanned=1)
            if rel.startswith("/") or ".." in rel.split("/"):
                self.stats.add(errors=1)
                self.stats.record("error", rel, "unsafe key: would leave the media directory")
                continue
            path = os.path.join(self.root, *rel.split("/"))
            try:
                st = os.lstat(path)
            except OSError:
                yield LocalFile(rel, path, size), etag
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size == size:
                local = LocalFile(rel, path, size)
                if self.compare == "size" or same_content(local, etag, (self.multipart_chunksize,)) is not False:
                    self.stats.add(skipped=1)
                    continue
            if self.overwrite and stat.S_ISREG(st.st_mode):
                yield LocalFile(rel, path, size), etag
            else:
                self.stats.add(conflicts=1)
                self.stats.record("conflict", rel, "local file differs")

    def download(self, local):
        key = join_key(self.prefix, local.relpath)
        directory = os.path.dirname(local.path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bookwyrm-s3-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                self.client.download_fileobj(self.bucket, key, handle)
            os.chmod(tmp, 0o644)
            os.rename(tmp, local.path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _pull_one(self, item):
        local, _etag = item
        self.download(local)
        self.stats.add(downloaded=1, bytes=local.size)
        self.stats.record("transferred", local.relpath)

    def pull(self):
        with self.progress:
            if self.check_mode:
                for local, _etag in self.pull_plan():
                    self.stats.add(downloaded=1, bytes=local.size, bytes_total=local.size)
                    self.stats.record("transferred", local.relpath)
                return self.result()
            self.progress.phase = "downloading"
            self._run_parallel(self.pull_plan(), self._pull_one)
        return self.result()

    def run(self):
        return self.push() if self.direction == "push" else self.pull()

    def result(self):
        # Counters go under "stats": a top-level "skipped" would mark the task as skipped.
        result = {"stats": self.stats.as_dict()}
        result["conflict_files"] = self.stats.conflict_files
        result["error_files"] = self.stats.error_files
        result["skipped_symlinks"] = getattr(self, "skipped_symlinks", [])
        result["skipped_names"] = getattr(self, "skipped_names", [])
        result["aborted"] = self.aborted
        result["abort_reason"] = self.abort_reason
        if self.stats.keep_files:
            result["transferred_files"] = self.stats.transferred_files
        else:
            result["sample"] = self.stats.transferred_files[:SAMPLE_SIZE]
        return result
