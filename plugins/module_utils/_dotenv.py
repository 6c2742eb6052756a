# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read and edit BookWyrm's ``.env`` without disturbing anything else in it.

BookWyrm's ``.env`` is read twice: by ``bash`` (``set -a; . ./.env`` in upstream's helper
script) and by docker compose (``env_file:`` and project-level interpolation). The two
readers only agree on a small common dialect, so this module

* keeps every byte it does not have to change (comments, blank lines, order, unknown keys,
  CRLF line endings, ``export`` prefixes, a missing final newline, odd lines it cannot parse);
* reads a value only when bash and compose v2 read it alike (otherwise the value counts as
  "unknown" and a ``set`` rewrites it);
* writes values in a form both read as the same string, and refuses values that have no
  such form (raising :class:`DotEnvError` naming the key, never the value).

Quoting written by :func:`quote_value`:

* the empty string: ``KEY=``;
* only ``[A-Za-z0-9_./:@%+,=-]``: plain, ``KEY=value``;
* no single quote, no trailing backslash: ``KEY='value'`` (literal for bash, and for compose
  v2 whose only escape inside single quotes is ``\\'``);
* a single quote but none of ``$ ` " \\``: ``KEY="value"`` (nothing in it is special to
  either reader);
* anything else (newline, carriage return, NUL, a single quote together with one of
  ``$ ` " \\``, a trailing backslash) is refused.

Duplicates: bash and compose both use the LAST assignment of a key. :meth:`DotEnv.set`
updates the last one in place and removes the earlier ones (their values were dead, and tools
that take the first match would otherwise read a stale value); :meth:`DotEnv.unset` removes
all of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass
from typing import Optional

KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SAFE_VALUE_RE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]*$")
SECRET_NAME_RE = re.compile(r"SECRET|PASSWORD|PASSWD|KEY|TOKEN|CREDENTIAL", re.IGNORECASE)

MASK = "<hidden>"
MASK_CHANGED = "<hidden, changed>"

# An assignment bash and compose both understand starts like this (no spaces around "=").
_ASSIGN_RE = re.compile(r"(?P<indent>[ \t]*)(?P<export>export[ \t]+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)=")
_SAFE_TOKEN_RE = re.compile(r"[A-Za-z0-9_./:@%+,=-]*")
# After an unquoted value: blanks, or a comment that compose also sees (it cuts at " #").
_UNQUOTED_REST_RE = re.compile(r"^(?:[ \t]*|[ \t]* #.*)$")
# After a quoted value: blanks, or blanks and a comment.
_QUOTED_REST_RE = re.compile(r"^(?:[ \t]*|[ \t]+#.*)$")
# A trailing comment kept when the value before it is rewritten.
_KEEP_COMMENT_RE = re.compile(r"^[ \t]* #.*$")
# Lines we do not manage but still mask in diffs: "NAME = v", "NAME: v", "# NAME=v".
_LOOSE_ASSIGN_RE = re.compile(r"^(?P<head>[ \t]*(?:#[ \t]*)?(?:export[ \t]+)?(?P<key>[A-Za-z0-9_.\[\]-]+)[ \t]*[=:])")


class DotEnvError(ValueError):
    """A value or key that cannot be written safely. The message never contains a value."""


def _split_newline(line):
    """Split one physical line into (content, newline)."""
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line.endswith("\n"):
        return line[:-1], "\n"
    return line, ""


@dataclass(repr=False)
class Entry:
    """One piece of the file: an assignment (``key`` set) or any other text (``key`` is None).

    ``raw`` is always the exact text of the piece, newline included.
    For assignments: ``raw == prefix + value_raw + suffix + newline`` where ``prefix`` is
    indentation, ``export`` and ``KEY=``; ``value_raw`` is the value as written (quotes
    included, may span lines); ``suffix`` is what follows it on its last line (blanks, a
    comment). ``value`` is the string both bash and compose read, or None when they may
    disagree or this parser cannot tell.
    """

    raw: Optional[str] = None
    key: Optional[str] = None
    prefix: str = ""
    value_raw: str = ""
    suffix: str = ""
    newline: str = ""
    value: Optional[str] = None
    modified: bool = False

    def __post_init__(self):
        if self.raw is None:
            self.raw = self.prefix + self.value_raw + self.suffix + self.newline

    def __repr__(self):  # pragma: no cover - debugging aid; never used in module output
        return "Entry(key=%r, raw=<%d chars>)" % (self.key, len(self.raw))


def _parse_assignment(text, pos, match):
    """Parse the assignment starting at ``pos``. Returns (Entry, end) or (None, None)."""
    start = match.end()
    key = match.group("key")
    prefix = text[pos:start]
    quote = text[start : start + 1]
    if quote in ("'", '"'):
        if quote == "'":
            close = text.find("'", start + 1)
        else:
            close = -1
            i = start + 1
            while i < len(text):
                char = text[i]
                if char == "\\":
                    i += 2
                    continue
                if char == '"':
                    close = i
                    break
                i += 1
        if close == -1:
            return None, None  # unterminated: leave the line alone
        content = text[start + 1 : close]
        value_raw = text[start : close + 1]
        eol = text.find("\n", close + 1)
        end = len(text) if eol == -1 else eol + 1
        rest, newline = _split_newline(text[close + 1 : end])
        value = None
        if "\n" not in content and "\r" not in content and _QUOTED_REST_RE.match(rest):
            if quote == "'" and not content.endswith("\\"):
                value = content
            elif quote == '"' and not any(c in content for c in '\\$`"'):
                value = content
        return Entry(key=key, prefix=prefix, value_raw=value_raw, suffix=rest, newline=newline, value=value), end

    eol = text.find("\n", start)
    end = len(text) if eol == -1 else eol + 1
    line, newline = _split_newline(text[start:end])
    token = _SAFE_TOKEN_RE.match(line).group(0)
    rest = line[len(token) :]
    value = None
    if (token and _UNQUOTED_REST_RE.match(rest)) or (not token and not rest.strip(" \t")):
        value = token
    return Entry(key=key, prefix=prefix, value_raw=token, suffix=rest, newline=newline, value=value), end


def parse(text):
    """Split ``text`` into a list of :class:`Entry`; ``"".join(e.raw for e in result) == text``."""
    entries = []
    pos = 0
    while pos < len(text):
        eol = text.find("\n", pos)
        line_end = len(text) if eol == -1 else eol + 1
        match = _ASSIGN_RE.match(text, pos, line_end)
        if match:
            entry, end = _parse_assignment(text, pos, match)
            if entry is not None:
                entries.append(entry)
                pos = end
                continue
        entries.append(Entry(raw=text[pos:line_end]))
        pos = line_end
    return entries


def validate_key(key):
    """Raise DotEnvError unless ``key`` is a name bash can assign and compose can read."""
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise DotEnvError(
            "invalid key %r: .env keys must match ^[A-Za-z_][A-Za-z0-9_]*$ (letters, digits and "
            "underscores, not starting with a digit), e.g. AWS_STORAGE_BUCKET_NAME" % (key,)
        )


def quote_value(key, value):
    """Return ``value`` written so that bash ``source`` and compose ``env_file`` read exactly it.

    Raises DotEnvError (naming ``key``, never the value) when no such form exists.
    """
    if not isinstance(value, str):
        raise DotEnvError("the value for %s must be a string" % key)
    for char, name in (("\n", "a newline"), ("\r", "a carriage return"), ("\x00", "a NUL character")):
        if char in value:
            raise DotEnvError(
                "the value for %s contains %s: a .env line cannot hold it so that both bash and docker "
                "compose read it; use a single-line value (or BookWyrm's %s_FILE secrets file)" % (key, name, key)
            )
    if SAFE_VALUE_RE.match(value):
        return value
    if "'" not in value and not value.endswith("\\"):
        return "'%s'" % value
    specials = [c for c in ("$", "`", '"', "\\") if c in value]
    if "'" in value and not specials:
        return '"%s"' % value
    if "'" in value:
        reason = "a single quote together with %s" % " and ".join(repr(c) for c in specials)
    else:
        reason = "a trailing backslash"
    raise DotEnvError(
        "the value for %s contains %s: no quoting makes bash `source` and docker compose env_file read "
        "the same string; choose a value without that combination (for generated secrets: letters, "
        "digits and -_.+/=)" % (key, reason)
    )


def is_secret_key(key, extra=()):
    """Whether the value of ``key`` must be hidden in diffs and output."""
    return key in extra or bool(SECRET_NAME_RE.search(key))


def detect_newline(text):
    """The file's line ending: CRLF when most lines use it, else LF."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


class DotEnv:
    """An editable ``.env`` file. ``render()`` returns the original text until something changes."""

    def __init__(self, text=""):
        self.entries = parse(text)
        self.newline = detect_newline(text)

    @classmethod
    def from_bytes(cls, data):
        # surrogateescape: bytes that are not UTF-8 survive the round trip unchanged.
        return cls(data.decode("utf-8", "surrogateescape"))

    def render(self):
        return "".join(e.raw for e in self.entries)

    def to_bytes(self):
        return self.render().encode("utf-8", "surrogateescape")

    def keys(self):
        """Assigned keys, in order of their last assignment."""
        last = {}
        for index, entry in enumerate(self.entries):
            if entry.key is not None:
                last[entry.key] = index
        return [key for key, _index in sorted(last.items(), key=lambda item: item[1])]

    def get(self, key, default=None):
        """The value bash and compose both read for ``key``; ``default`` when it is not assigned.

        Raises DotEnvError when the last assignment is one the two readers may read differently.
        """
        entries = [e for e in self.entries if e.key == key]
        if not entries:
            return default
        if entries[-1].value is None:
            raise DotEnvError("the value of %s is written in a form bash and docker compose may read differently" % key)
        return entries[-1].value

    def values(self, include_secrets=False, only=None):
        """{key: value} of the assigned keys (None where get() cannot tell the value), without
        the keys that look like secrets unless ``include_secrets``; only ``only``'s when given."""
        values = {}
        for key in self.keys():
            if (only is not None and key not in only) or (is_secret_key(key) and not include_secrets):
                continue
            try:
                values[key] = self.get(key)
            except DotEnvError:
                values[key] = None
        return values

    def set(self, key, value):
        """Make ``key`` hold ``value``. Returns True when the text changed."""
        validate_key(key)
        rendered = quote_value(key, value)
        indexes = [i for i, e in enumerate(self.entries) if e.key == key]
        changed = False
        if indexes:
            last = self.entries[indexes[-1]]
            if last.value is None or last.value != value:
                suffix = last.suffix if _KEEP_COMMENT_RE.match(last.suffix) else ""
                self.entries[indexes[-1]] = Entry(
                    key=key,
                    prefix=last.prefix,
                    value_raw=rendered,
                    suffix=suffix,
                    newline=last.newline,
                    value=value,
                    modified=True,
                )
                changed = True
            for index in reversed(indexes[:-1]):
                del self.entries[index]
                changed = True
        else:
            self._terminate_last_line()
            self.entries.append(
                Entry(key=key, prefix=key + "=", value_raw=rendered, newline=self.newline, value=value, modified=True)
            )
            changed = True
        return changed

    def unset(self, key):
        """Remove every assignment of ``key``. Returns True when the text changed."""
        validate_key(key)
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.key != key]
        return len(self.entries) != before

    def _terminate_last_line(self):
        if not self.entries:
            return
        last = self.entries[-1]
        if last.raw.endswith("\n"):
            return
        if last.key is not None:
            last.newline = self.newline
            last.raw = last.prefix + last.value_raw + last.suffix + last.newline
        else:
            last.raw += self.newline

    def masked(self, secret_keys=(), mark_changed=False):
        """The text with the values of secret keys replaced by a marker (for diffs).

        Secret keys: names matching SECRET_NAME_RE and ``secret_keys``. Values are hidden on
        every line, changed or not, including commented-out and unparsable assignments.
        With ``mark_changed``, rewritten secret values show as MASK_CHANGED so that a change
        of a secret is still visible in a diff.
        """
        return "".join(_mask_entry(e, secret_keys, mark_changed) for e in self.entries)


def _mask_entry(entry, secret_keys, mark_changed):
    if entry.key is not None:
        if not is_secret_key(entry.key, secret_keys):
            return entry.raw
        mask = MASK_CHANGED if (mark_changed and entry.modified) else MASK
        return entry.prefix + mask + entry.newline
    lines = []
    pos = 0
    raw = entry.raw
    while pos < len(raw):
        eol = raw.find("\n", pos)
        end = len(raw) if eol == -1 else eol + 1
        content, newline = _split_newline(raw[pos:end])
        match = _LOOSE_ASSIGN_RE.match(content)
        if match and is_secret_key(match.group("key"), secret_keys):
            content = match.group("head") + MASK
        lines.append(content + newline)
        pos = end
    return "".join(lines)


def masked_diff(before, after, secret_keys=(), path=None):
    """An Ansible diff dict (before/after text) with secret values hidden on every line.

    ``before`` and ``after`` are DotEnv objects (``before`` may be None for a new file).
    """
    diff = {
        "before": before.masked(secret_keys) if before is not None else "",
        "after": after.masked(secret_keys, mark_changed=True),
    }
    if path:
        diff["before_header"] = path if before is not None else "%s (absent)" % path
        diff["after_header"] = path
    return diff
