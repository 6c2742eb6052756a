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
    the names of one directory per level being walked, not the whole tree: names only, not
    ``os.DirEntry`` objects, which cost ten times as much (a million-file BookWyrm tree has
    directories of 75,000 covers and 75,000 thumbnail folders).
    """

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.skipped_symlinks = []
        self.skipped_names = []

    def _inside(self, path):
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root + os.sep)

    def _kind(self, entry, rel):
        """'dir', 'file' or 'link' (to a file inside the tree); None for what is not walked."""
        if entry.is_symlink():
            # A link to a file inside the tree is uploaded under the link's name; anything
            # else (outside the tree, a directory, dangling) is skipped.
            if self._inside(entry.path) and entry.is_file(follow_symlinks=True):
                return "link"
            self.skipped_symlinks.append(rel)
            return None
        if entry.is_dir(follow_symlinks=False):
            return "dir"
        return "file" if entry.is_file(follow_symlinks=False) else None

    def _listdir(self, rel_dir, abs_dir):
        """(names in key order, a subdirectory's with a trailing '/'; the names that are links)."""
        names = []
        links = set()
        try:
            with os.scandir(abs_dir) as scanned:
                for entry in scanned:
                    name = entry.name
                    try:
                        name.encode("utf-8")
                    except UnicodeEncodeError:
                        # Not valid UTF-8 on disk: no S3 key can name it faithfully.
                        rel = rel_dir + name
                        self.skipped_names.append(rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                        continue
                    try:
                        kind = self._kind(entry, rel_dir + name)
                    except OSError:
                        continue
                    if kind == "dir":
                        names.append(name + "/")
                    elif kind is not None:
                        names.append(name)
                        if kind == "link":
                            links.add(name)
        except OSError:
            return [], links
        names.sort()
        return names, links

    def files(self):
        names, links = self._listdir("", self.root)
        stack = [("", self.root, iter(names), links)]
        while stack:
            rel_dir, abs_dir, names, links = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                continue
            if name.endswith("/"):  # a file name never holds a '/'
                rel, path = rel_dir + name, os.path.join(abs_dir, name[:-1])
                names, links = self._listdir(rel, path)
                stack.append((rel, path, iter(names), links))
                continue
            path = os.path.join(abs_dir, name)
            try:
                # a link kept by _listdir leads to a file inside the tree: its size is the file's
                size = os.stat(path).st_size if name in links else os.lstat(path).st_size
            except OSError:  # gone since the directory was read
                continue
            yield LocalFile(rel_dir + name, path, size)

    def measure(self):
        """(files, bytes) of the whole tree, for the ETA of a first copy."""
        files = size = 0
        for local in LocalTree(self.root).files():
            files += 1
            size += local.size
        return files, size
