# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reclaiming the disk of an instance on a bucket, and undoing it.

``Reclaimer.reclaim()`` walks the local media tree beside the bucket's listing (both in key
order, as media_sync does) and removes a local file only when the bucket's object has the same
size and the same content: the MD5 ETag read back from the bucket, the multipart ETag computed
from the local file, or, when neither tells, the object streamed back and hashed. Every file it
removes is first appended to a manifest on the host (JSON lines: path, size, md5, key, and the
mode and owner to restore). A file missing or different in the bucket is kept and reported.

``Reclaimer.restore()`` brings every file of the manifest back from the bucket, checked against
the manifest's MD5 before it takes the file's place, with its mode and owner. It never
overwrites a local file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import os
import stat
import tempfile

try:
    from botocore.exceptions import BotoCoreError, ClientError

    READ_ERRORS = (BotoCoreError, ClientError, IOError, OSError)
except ImportError:  # the module reports a missing botocore; the manifest needs none
    READ_ERRORS = (IOError, OSError)

from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import MediaSyncListError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_remote import (
    MB,
    RemoteListing,
    file_md5,
    same_content,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import (
    LocalTree,
    join_key,
    local_path,
    unsafe_key,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._reclaim_manifest import Manifest
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import error_code

# media_sync's part size first, then boto3's: the likeliest multipart ETags of our own uploads
PART_SIZES = (16 * MB, 8 * MB)
CHUNK = MB
LISTING_WORKERS = 4


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


class Reclaimer(object):
    """``client``: an S3 client (AWSRetry-wrapped in modules); ``root``: the media tree."""

    def __init__(self, client, bucket, root, manifest, prefix="images", check_mode=False, report_limit=100):
        self.client = client
        self.bucket = bucket
        self.root = root
        self.prefix = prefix.strip("/")
        self.manifest = manifest if isinstance(manifest, Manifest) else Manifest(manifest)
        self.check_mode = check_mode
        self.report_limit = report_limit
        self.streamed = 0

    # ---- comparing -----------------------------------------------------------------------------

    def _streamed_md5(self, key):
        """The MD5 of the object as the bucket serves it (read back, chunk by chunk)."""
        self.streamed += 1
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.md5()  # noqa: S324 - compared with S3's MD5s, not a security check
        for block in iter(lambda: body.read(CHUNK), b""):
            digest.update(block)
        return digest.hexdigest()

    def verdict(self, local, remote):
        """(same, md5 of the local file, why not)."""
        if remote is None:
            return False, None, "missing in the bucket"
        if remote.size != local.size:
            return False, None, "%d bytes in the bucket, %d here" % (remote.size, local.size)
        md5 = file_md5(local.path)
        if same_content(local, remote.etag, PART_SIZES) is True:
            return True, md5, None
        # an ETag that is not (or not this file's) MD5: the object itself decides
        try:
            streamed = self._streamed_md5(join_key(self.prefix, local.relpath))
        except READ_ERRORS as exc:
            return False, md5, "cannot be read back from the bucket (%s)" % (error_code(exc) or exc)
        if streamed == md5:
            return True, md5, None
        return False, md5, "content differs from the bucket's object"

    def pairs(self):
        """(local file, its object or None), both streams in key order."""
        listing = iter(RemoteListing(self.client, self.bucket, self.prefix, workers=LISTING_WORKERS))
        current = next(listing, None)
        for local in LocalTree(self.root).files():
            while current is not None and current.relpath < local.relpath:
                current = next(listing, None)
            yield local, (current if current is not None and current.relpath == local.relpath else None)

    # ---- reclaiming ----------------------------------------------------------------------------

    def reclaim(self):
        recorded = set((e["path"], e["md5"]) for e in self.manifest.entries())
        removed, kept, freed, batch = [], [], 0, []
        counts = dict(removed=0, kept=0, scanned=0)
        try:
            for local, remote in self.pairs():
                counts["scanned"] += 1
                try:
                    st = os.lstat(local.path)
                except OSError:
                    continue  # gone since the walk
                if stat.S_ISLNK(st.st_mode):
                    continue  # a link takes no space; its target is a file of its own
                same, md5, why = self.verdict(local, remote)
                if not same:
                    counts["kept"] += 1
                    if len(kept) < self.report_limit:
                        kept.append(dict(path=local.relpath, reason=why))
                    continue
                batch.append((local, md5, st))
                if len(batch) >= 256:
                    freed += self._remove(batch, recorded, removed, counts)
                    batch = []
            freed += self._remove(batch, recorded, removed, counts)
        except MediaSyncListError as exc:
            raise ReclaimError(
                message="Listing the bucket %s: %s" % (self.bucket, exc.message), exception=exc.exception
            ) from exc
        return dict(
            changed=counts["removed"] > 0,
            removed=counts["removed"],
            bytes_freed=freed,
            kept=counts["kept"],
            kept_files=kept,
            scanned=counts["scanned"],
            streamed=self.streamed,
            removed_sample=removed,
            manifest=self.manifest.path,
        )

    def _remove(self, batch, recorded, removed, counts):
        """Manifest first (synced), then the files; a file changed since it was compared stays."""
        freed = 0
        entries = []
        for local, md5, st in batch:
            if (local.relpath, md5) in recorded:
                continue
            entries.append(
                dict(
                    path=local.relpath,
                    size=local.size,
                    md5=md5,
                    key=join_key(self.prefix, local.relpath),
                    bucket=self.bucket,
                    mode="%04o" % (st.st_mode & 0o7777),
                    uid=st.st_uid,
                    gid=st.st_gid,
                    reclaimed=_now(),
                )
            )
        if not self.check_mode:
            self.manifest.append(entries)
            recorded.update((e["path"], e["md5"]) for e in entries)
        for local, _md5, st in batch:
            if not self.check_mode:
                try:
                    now = os.lstat(local.path)
                    if (now.st_size, now.st_mtime_ns, now.st_ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
                        continue  # written to since: the content compared is not this content
                    os.unlink(local.path)
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        continue
                    raise ReclaimError(message="Cannot remove %s: %s" % (local.path, exc)) from exc
            counts["removed"] += 1
            freed += local.size
            if len(removed) < self.report_limit:
                removed.append(local.relpath)
        return freed

    # ---- restoring -----------------------------------------------------------------------------

    def restore(self):
        restored, conflicts, failed, present = [], [], [], 0
        wanted = 0
        for entry in self.manifest.latest().values():
            rel = entry["path"]
            if unsafe_key(rel):
                failed.append(dict(path=rel, reason="not a path inside the media tree"))
                continue
            target = local_path(self.root, rel)
            if os.path.lexists(target):
                if self._same(target, entry):
                    present += 1
                else:
                    conflicts.append(dict(path=rel, reason="a different file is there now; it is kept"))
                continue
            wanted += 1
            if self.check_mode:
                if len(restored) < self.report_limit:
                    restored.append(rel)
                continue
            why = self._download(entry, target)
            if why:
                failed.append(dict(path=rel, reason=why))
            elif len(restored) < self.report_limit:
                restored.append(rel)
        result = dict(
            changed=wanted - len(failed) > 0,
            restored=wanted - len(failed),
            present=present,
            restored_sample=restored,
            conflicts=conflicts[: self.report_limit],
            manifest=self.manifest.path,
        )
        if failed:
            first = failed[0]
            raise ReclaimError(
                message="%d file(s) of the manifest could not be brought back from %s (e.g. %s: %s)."
                % (len(failed), self.bucket, first["path"], first["reason"]),
                failed=failed[: self.report_limit],
                **result,
            )
        return result

    @staticmethod
    def _same(path, entry):
        return os.path.isfile(path) and os.path.getsize(path) == entry["size"] and file_md5(path) == entry["md5"]

    def _download(self, entry, target):
        """None once the file is in place, checked; else why not. Never replaces a file."""
        directory = os.path.dirname(target)
        self._make_dirs(directory)
        fd, tmp = tempfile.mkstemp(prefix=".bookwyrm-s3-", dir=directory)
        try:
            digest, size = hashlib.md5(), 0  # noqa: S324 - compared with the manifest's MD5
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=entry["key"])["Body"]
                with os.fdopen(fd, "wb") as handle:
                    for block in iter(lambda: body.read(CHUNK), b""):
                        digest.update(block)
                        size += len(block)
                        handle.write(block)
                    handle.flush()
                    os.fsync(handle.fileno())
            except READ_ERRORS as exc:  # reported per file
                return "cannot read %s: %s" % (entry["key"], error_code(exc) or exc)
            if size != entry["size"] or digest.hexdigest() != entry["md5"]:
                return "the bucket's %s is not the file removed (%d bytes, md5 %s)" % (
                    entry["key"],
                    size,
                    digest.hexdigest(),
                )
            os.chmod(tmp, int(str(entry.get("mode", "0644")), 8))
            if os.geteuid() == 0 and "uid" in entry:
                os.chown(tmp, entry["uid"], entry["gid"])
            try:
                os.link(tmp, target)  # fails when a file appeared there meanwhile: it is kept
            except OSError as exc:
                return "not put back: %s" % exc
            return None
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def _make_dirs(self, directory):
        """Directories a reclaim emptied stay, so this is rare; new ones take the root's owner."""
        if os.path.isdir(directory):
            return
        parent = os.path.dirname(directory)
        self._make_dirs(parent)
        os.mkdir(directory, 0o755)
        if os.geteuid() == 0:
            st = os.stat(self.root)
            os.chown(directory, st.st_uid, st.st_gid)
