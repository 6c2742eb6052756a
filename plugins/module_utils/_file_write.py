# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A file replaced whole, for the modules that write one (dotenv's .env, report's JSON): a
reader sees the old content or the new, never half of it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.module_utils.common.text.converters import to_native


class FileWriteError(Exception):
    def __init__(self, msg):
        super(FileWriteError, self).__init__(msg)
        self.msg = msg


def replace_file(atomic_move, path, data, exists, name=None):
    """Write ``data`` (bytes) to ``path``: a temporary file in the same directory, synced, then
    renamed over it with ``atomic_move`` (AnsibleModule's). ``name`` is the path as the user gave
    it, for messages. Raises FileWriteError; leaves no temporary file behind."""
    name = name or path
    directory = os.path.dirname(path) or "."
    placeholder = False
    if not exists:
        # atomic_move gives a file it creates the umask's mode; create the file 0600 first
        # so that it never exists with looser permissions, then replace it.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            placeholder = True
        except (IOError, OSError) as exc:
            raise FileWriteError("cannot create %s: %s" % (name, to_native(exc.strerror or exc))) from exc
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        atomic_move(tmp, path)
        placeholder = False
    except (IOError, OSError) as exc:
        raise FileWriteError("cannot write %s: %s" % (name, to_native(exc.strerror or exc))) from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if placeholder and os.path.exists(path) and os.path.getsize(path) == 0:
            os.unlink(path)
