# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The local side of a media sync: the tree walk in S3 key order, keys and content types."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import mimetypes
import os

DEFAULT_CONTENT_TYPE = "application/octet-stream"

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


def unsafe_key(rel):
    """True for a key that would leave the local directory once turned into a path."""
    return rel.startswith("/") or ".." in rel.split("/")


def local_path(root, rel):
    return os.path.join(root, *rel.split("/"))


class LocalFile(object):
    __slots__ = ("path", "relpath", "size")

    def __init__(self, relpath, path, size):
        self.relpath = relpath
        self.path = path
        self.size = size


class LocalTree(object):
    """Streams the regular files below ``root`` in S3 key order; symlinks never lead out of it.

    Key order is the order of the UTF-8 bytes of the key, which is the order of Python
    strings: a directory ``a`` sorts as ``a/`` (after ``a-b``, before ``a0``). Memory holds
    one directory listing per level being walked, not the whole tree.
    """

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.skipped_symlinks = []
        self.skipped_names = []

    def _inside(self, path):
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root + os.sep)

    def _entries(self, rel_dir, abs_dir):
        """(key, kind, entry) of one directory, sorted by key; kind is 'dir' or 'file'."""
        try:
            scanned = list(os.scandir(abs_dir))
        except OSError:
            return []
        entries = []
        for entry in scanned:
            rel = rel_dir + entry.name
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                # Not valid UTF-8 on disk: no S3 key can name it faithfully.
                self.skipped_names.append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                continue
            try:
                if entry.is_symlink():
                    # A link to a file inside the tree is uploaded under the link's name;
                    # anything else (outside the tree, a directory, dangling) is skipped.
                    if not self._inside(entry.path) or not entry.is_file(follow_symlinks=True):
                        self.skipped_symlinks.append(rel)
                        continue
                    entries.append((rel, "link", entry))
                elif entry.is_dir(follow_symlinks=False):
                    entries.append((rel + "/", "dir", entry))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((rel, "file", entry))
            except OSError:
                continue
        entries.sort(key=lambda item: item[0])
        return entries

    def files(self):
        stack = [iter(self._entries("", self.root))]
        while stack:
            try:
                key, kind, entry = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            try:
                if kind == "dir":
                    stack.append(iter(self._entries(key, entry.path)))
                elif kind == "link":
                    yield LocalFile(key, entry.path, os.stat(entry.path).st_size)
                else:
                    yield LocalFile(key, entry.path, entry.stat(follow_symlinks=False).st_size)
            except OSError:  # gone since the directory was read
                continue

    def measure(self):
        """(files, bytes) of the whole tree, for the ETA of a first copy."""
        files = size = 0
        for local in LocalTree(self.root).files():
            files += 1
            size += local.size
        return files, size
