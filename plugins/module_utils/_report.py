# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run's report file: one JSON document (written whole by _file_write.replace_file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def render(report):
    """The file's text: keys sorted and indented as to_nice_json writes them, a final newline."""
    return json.dumps(report, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def read_text(path):
    """What the file holds now; None when there is no file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
