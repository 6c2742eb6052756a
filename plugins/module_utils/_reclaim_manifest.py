# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The manifest of a reclaim: the files it removed from the disk, which rollback brings back and
verify checks an old link of. Apart from _reclaim so that verify, which only reads it, imports
neither botocore nor the listing (a third of a second of CPU on every run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os

from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import local_path, unsafe_key

MANIFEST_MODE = 0o600


class Manifest(object):
    """The files a reclaim removed: one JSON object per line, appended, never rewritten."""

    FIELDS = ("path", "size", "md5", "key")

    def __init__(self, path):
        self.path = path

    def entries(self):
        """Every entry in file order; a line that is not an entry fails with its number."""
        try:
            handle = open(self.path, "r")
        except IOError as exc:
            if exc.errno == errno.ENOENT:
                return
            raise ReclaimError(message="Cannot read the manifest %s: %s" % (self.path, exc)) from exc
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = None
                if not isinstance(entry, dict) or any(field not in entry for field in self.FIELDS):
                    raise ReclaimError(
                        message="Line %d of the manifest %s is not an entry (%s): it was edited by hand; "
                        "nothing was changed." % (number, self.path, ", ".join(self.FIELDS))
                    )
                yield entry

    def latest(self):
        """path -> its last entry."""
        return dict((entry["path"], entry) for entry in self.entries())

    def gone(self, root, limit=1):
        """The last ``limit`` entries whose file is not on disk now (the ones served by redirect)."""
        found = []
        for entry in reversed(list(self.latest().values())):
            if len(found) >= limit:
                break
            if not unsafe_key(entry["path"]) and not os.path.lexists(local_path(root, entry["path"])):
                found.append(entry)
        return found

    def append(self, entries):
        """Append ``entries`` and sync them to disk before any file they name is removed."""
        if not entries:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, MANIFEST_MODE)
        try:
            os.fchmod(fd, MANIFEST_MODE)
            data = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
            os.write(fd, data.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
