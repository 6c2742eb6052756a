# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bucket_history
short_description: Add buckets to the history of the buckets a BookWyrm instance has used
version_added: 0.1.0
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
description:
  - Takes the list of buckets an instance has used (the role keeps it on the host, no secrets)
    and returns it with the given entries appended, each unless a bucket of the same name on the
    same endpoint is there already. Entries without a bucket name are left out.
  - Known entries are kept as they are, in their order, so a rerun writes the same file.
options:
  _input:
    description: The history, a list of dicts with at least C(bucket) and C(endpoint_url).
    type: list
    elements: dict
    required: true
  entries:
    description: Entries to add, oldest first.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The instance's buckets, with the new one
  ansible.builtin.set_fact:
    history: "{{ history | bookwyrm.s3.bucket_history([{'bucket': 'new', 'endpoint_url': 'https://s3.example.net'}]) }}"
"""

RETURN = r"""
_value:
  description: The history with the new entries appended.
  type: list
  elements: dict
"""


def bucket_key(entry):
    """A bucket is its name on its endpoint (one name may exist on two providers)."""
    return (entry.get("bucket") or "", (entry.get("endpoint_url") or "").rstrip("/").lower())


def bucket_history(history, entries):
    result = [dict(entry) for entry in history or []]
    known = set(bucket_key(entry) for entry in result)
    for entry in entries or []:
        key = bucket_key(entry)
        if key[0] and key not in known:
            known.add(key)
            entry = dict(entry)
            if not entry.get("moved_from"):  # reached from local storage
                entry.pop("moved_from", None)
            result.append(entry)
    return result


def bucket_verified(history, bucket, stamp):
    """Mark the move to ``bucket`` (a dict with bucket and endpoint_url) as verified at ``stamp``."""
    result = []
    for entry in history or []:
        entry = dict(entry)
        if bucket_key(entry) == bucket_key(bucket) and entry.get("moved_from") and not entry.get("verified"):
            entry["verified"] = stamp
        result.append(entry)
    return result


def unfinished_move(history, bucket):
    """The bucket a move to ``bucket`` came from, while that move is not verified yet; else {}."""
    for entry in history or []:
        if bucket_key(entry) == bucket_key(bucket) and entry.get("moved_from") and not entry.get("verified"):
            return dict(entry["moved_from"])
    return {}


def rollback_buckets(history, current=None):
    """Where a rollback reads media from: the bucket .env names first, then the others, newest first."""
    current = current if current and current.get("bucket") else None
    ordered = bucket_history([], ([current] if current else []) + list(reversed(history or [])))
    for entry in ordered:
        entry["current"] = current is not None and bucket_key(entry) == bucket_key(current)
    return ordered


class FilterModule(object):
    def filters(self):
        return {
            "bucket_history": bucket_history,
            "bucket_verified": bucket_verified,
            "unfinished_move": unfinished_move,
            "rollback_buckets": rollback_buckets,
        }
