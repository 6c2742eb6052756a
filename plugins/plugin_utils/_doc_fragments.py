# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Compose one documentation fragment out of several, as ansible-doc would merge them.

ansible-doc does not follow ``extends_documentation_fragment`` inside a fragment, so a module
that wants amazon.aws's connection options and ours names four fragments, and every S3 module
repeats the list. ``composed()`` merges them once, in the order given, with ansible-doc's
rules: ``notes`` and ``requirements`` are appended, ``options`` and ``attributes`` are merged
per entry (what comes first wins a clash, as a module's own docs win over its fragments).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

LIST_KEYS = ("notes", "requirements", "seealso")
MAPPING_KEYS = ("options", "attributes")


def composed(*documents):
    """The YAML of one fragment holding every section of DOCUMENTS (YAML strings)."""
    merged = {}
    for document in documents:
        for key, value in (yaml.safe_load(document) or {}).items():
            if key in LIST_KEYS:
                merged.setdefault(key, []).extend(item for item in value if item not in merged.get(key, ()))
            elif key in MAPPING_KEYS:
                section = merged.setdefault(key, {})
                for name, entry in (value or {}).items():
                    section[name] = dict(entry, **section.get(name, {}))
            else:
                raise ValueError("cannot compose the fragment section %r" % key)
    return yaml.safe_dump(merged, default_flow_style=False, sort_keys=False)
