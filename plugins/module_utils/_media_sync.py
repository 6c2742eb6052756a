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

try:
    import queue
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity tests
    import Queue as queue  # type: ignore

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity tests
    from urllib import quote  # type: ignore

CACHE_CONTROL = "max-age=86400"  # what BookWyrm's storages set on every object
DEFAULT_CONTENT_TYPE = "application/octet-stream"
SAMPLE_SIZE = 10
MB = 1024 * 1024
SMALL_BODY = MB  # files below this are read whole and sent in one go (no Expect: 100-continue)

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
        with _raw_timestamps(client):
            for page in paginator.paginate(Bucket=bucket, Prefix=list_prefix):
                for obj in page.get("Contents", ()):
                    rel = obj["Key"][len(list_prefix) :]
                    if rel and not rel.endswith("/"):
                        index[rel] = (obj["Size"], obj.get("ETag", "").strip('"'))
    except Exception as exc:
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        if missing_bucket_is_empty and code == "NoSuchBucket":
            return {}
        raise
    return index


class _raw_timestamps(object):
    """Leave LastModified as text while listing (nothing here reads it).

    botocore parses every timestamp with dateutil: three quarters of the CPU time of a
    listing of small objects. Its endpoint makes a parser per response from a factory whose
    defaults can be set (``set_parser_defaults``); the old default is put back afterwards. A
    client without that factory (another botocore, a test double) is left alone.
    """

    _UNSET = object()

    def __init__(self, client):
        endpoint = getattr(client, "_endpoint", None)
        self.factory = getattr(endpoint, "_response_parser_factory", None)
        defaults = getattr(self.factory, "_defaults", None)
        self.usable = isinstance(defaults, dict) and hasattr(self.factory, "set_parser_defaults")
        self.saved = defaults.get("timestamp_parser", self._UNSET) if self.usable else None

    def __enter__(self):
        if self.usable:
            self.factory.set_parser_defaults(timestamp_parser=str)
        return self

    def __exit__(self, *exc):
        if self.usable:
            if self.saved is self._UNSET:
                self.factory._defaults.pop("timestamp_parser", None)
            else:
                self.factory.set_parser_defaults(timestamp_parser=self.saved)


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


class FastPut(object):
    """PutObject of a small body without botocore's per-request pipeline.

    botocore spends about a millisecond of CPU per call (events, parameter validation,
    endpoint rules, parsing); for 50 KB covers that is the bottleneck, not the network.
    Here the request is built once the way botocore builds it: the URL comes from the
    client itself (``generate_presigned_url``, so endpoint, addressing style and key
    encoding are botocore's), it is signed with botocore's SigV4 signer and the client's
    credentials, and sent through the client's own HTTP session (its TLS, CA bundle,
    proxies and connection pool). Any answer other than 2xx, or any exception, returns
    False: the caller then does a normal ``put_object`` (botocore's retries and errors), and
    after a few such misses in a row the fast path switches itself off.
    """

    MARKER = "bookwyrm-s3-fast-put-probe"
    MAX_MISSES = 3

    def __init__(self, client, bucket):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        signer = client._request_signer
        if getattr(signer, "signature_version", "s3v4") not in ("s3v4", "v4"):
            raise ValueError("fast path signs with SigV4 only")
        self.credentials = signer._credentials
        if self.credentials is None:
            raise ValueError("no credentials (anonymous client)")
        self.session = client._endpoint.http_session
        self.region = client.meta.region_name or "us-east-1"
        url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": self.MARKER}, ExpiresIn=60)
        base = url.split("?", 1)[0]
        if not base.endswith("/" + self.MARKER):
            raise ValueError("unexpected URL layout: %s" % base)
        self.base = base[: -len(self.MARKER)]
        self.auth = S3SigV4Auth
        self.request = AWSRequest
        self.misses = 0
        self.enabled = True

    def put(self, key, body, headers):
        if not self.enabled:
            return False
        try:
            request = self.request("PUT", self.base + quote(key, safe="/~"), data=body, headers=dict(headers))
            self.auth(self.credentials.get_frozen_credentials(), "s3", self.region).add_auth(request)
            response = self.session.send(request.prepare())
            ok = 200 <= response.status_code < 300
        except Exception:  # noqa: BLE001 - the caller retries through botocore, which reports errors
            ok = False
        if ok:
            self.misses = 0
        else:
            self.misses += 1
            if self.misses >= self.MAX_MISSES:
                self.enabled = False
        return ok


def make_fast_put(client, bucket):
    """A FastPut for this client, or None when its setup is not one the fast path knows."""
    try:
        return FastPut(client, bucket)
    except Exception:  # noqa: BLE001 - any surprise: use plain put_object
        return None


HEADER_NAMES = {"ContentType": "Content-Type", "CacheControl": "Cache-Control", "ACL": "x-amz-acl"}


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

    def _measure(self):
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
        if self.measure is not None:
            self._measure()
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
        client_factory=None,
        processes=1,
        fast_put=False,
        progress_interval=5.0,
    ):
        self.client = client
        # Worker processes make their own client with this (a client must not cross a fork).
        self.client_factory = client_factory
        self.processes = max(1, min(processes or 1, workers or 1)) if client_factory else 1
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
        self.progress = ProgressFile(progress_path, self.stats, progress_interval)
        if direction == "push":
            self.progress.measure = self._measure_tree
        self._transfer_config = None
        self.aborted = False
        self.abort_reason = None
        self.abort_after_errors = max(10, 2 * self.workers)
        self._pool = None
        self._moving_phase = "uploading" if direction == "push" else "downloading"
        self.fast_put = fast_put
        self._fast = None
        self._fast_lock = threading.Lock()

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

    def _measure_tree(self):
        files = size = 0
        for local in LocalTree(self.root).files():
            files += 1
            size += local.size
        return files, size

    def push_plan(self):
        """Yield (LocalFile, reason) for what must be uploaded; count the rest."""
        self.progress.phase = "listing"
        remote = list_remote(self.client, self.bucket, self.prefix, missing_bucket_is_empty=self.check_mode)
        self.progress.phase = "comparing" if self.check_mode else self._moving_phase
        tree = LocalTree(self.root)
        for local in tree.files():
            self.stats.add(scanned=1)
            self.progress.bytes_seen += local.size
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
        elif local.size < SMALL_BODY:
            # Read whole: no "Expect: 100-continue" round trip, and one signing pass.
            with open(local.path, "rb") as handle:
                body = handle.read()
            fast = self._fast_put()
            headers = dict((HEADER_NAMES[name], value) for name, value in extra.items())
            if fast is None or not fast.put(key, body, headers):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        else:
            with open(local.path, "rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        return key

    def _fast_put(self):
        if not self.fast_put:
            return None
        if self._fast is None:
            with self._fast_lock:
                if self._fast is None:
                    self._fast = make_fast_put(self.client, self.bucket) or False
        return self._fast or None

    def _run_parallel(self, items, action):
        """Run action(item) with a bounded number of items in flight (memory stays flat).

        Stops early when the server keeps failing (it is down, or the credentials were
        revoked): retrying thousands of files one by one would only delay the report.
        """
        if self._pool is not None:
            self._pool.run(items)
            return
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
        if self.check_mode:
            with self.progress:
                for local, _reason in self.push_plan():
                    self.stats.add(uploaded=1, bytes=local.size, bytes_total=local.size)
                    self.stats.record("transferred", join_key(self.prefix, local.relpath))
            return self.result()

        def planned():
            for item in self.push_plan():
                self.stats.add(bytes_total=item[0].size)
                yield item
            self.progress.plan_complete = True

        with self._worker_pool(), self.progress:
            self._run_parallel(planned(), self._push_one)
        return self.result()

    # ---- pull (rollback) ------------------------------------------------------------------

    def pull_plan(self):
        self.progress.phase = "listing"
        remote = list_remote(self.client, self.bucket, self.prefix, missing_bucket_is_empty=self.check_mode)
        self.progress.phase = "comparing" if self.check_mode else self._moving_phase
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
        if self.check_mode:
            with self.progress:
                for local, _etag in self.pull_plan():
                    self.stats.add(downloaded=1, bytes=local.size, bytes_total=local.size)
                    self.stats.record("transferred", local.relpath)
            return self.result()

        def planned():
            for item in self.pull_plan():
                self.stats.add(bytes_total=item[0].size)
                yield item
            self.progress.plan_complete = True

        with self._worker_pool(), self.progress:
            self._run_parallel(planned(), self._pull_one)
        return self.result()

    def _worker_pool(self):
        """A pool of worker processes when asked for and possible, else a no-op context."""
        self._pool = None
        if self.processes > 1:
            try:
                import multiprocessing

                context = multiprocessing.get_context("fork")
            except (ImportError, ValueError):  # no fork on this platform: threads only
                context = None
            if context is not None:
                self._pool = ProcessPool(self, context)
                return self._pool
        return _NullContext()

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


class _NullContext(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


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
        for index in range(self.processes):
            proc = self.context.Process(target=self._worker_main, args=(parent,), name="media-sync-%d" % index)
            proc.daemon = True
            proc.start()
            self.workers.append(proc)
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
            sync.client = sync.client_factory()
            sync._transfer_config = None
            sync._fast = None
            sync._fast_lock = threading.Lock()
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
                        sync.upload(local)
                    else:
                        sync.download(local)
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
