#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: report
short_description: Write the report of a run of the role, a JSON file, in one module run
version_added: 0.1.0
description:
  - Writes O(content) as an indented JSON document with sorted keys to O(path), replacing the
    file whole with a rename (a reader sees the old report or the new one, never half of one).
  - Nothing is written when the file holds that document already.
  - One module run where M(ansible.builtin.copy) takes two (a C(stat), then the copy), since the
    role writes its report on every run, a no-op rerun included.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - action_common_attributes.files
  - ansible.builtin.files
attributes:
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
options:
  path:
    description: The report file, on the managed node. Its directory must exist.
    type: path
    required: true
  content:
    description: The report. It is written as given; it should hold no secret.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The run's report, owned like the instance's .env
  bookwyrm.s3.report:
    path: /opt/bookwyrm/bookwyrm-s3-report.json
    content:
      action: migrate
      phases: {verify: {status: ok}}
    mode: "0600"
    owner: bookwyrm
    group: bookwyrm
"""

RETURN = r"""
path:
  description: The report file.
  returned: always
  type: str
  sample: /opt/bookwyrm/bookwyrm-s3-report.json
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._file_write import FileWriteError, replace_file
from ansible_collections.bookwyrm.s3.plugins.module_utils._report import read_text, render

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    content=dict(type="dict", required=True),
)


class ReportWriter(object):
    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]

    def run(self):
        if not os.path.isdir(os.path.dirname(self.path) or "."):
            self.module.fail_json(
                msg="the directory of %s does not exist: create it, or choose another path" % self.path
            )
        text = render(self.module.params["content"])
        before = read_text(self.path)
        changed = before != text
        result = dict(path=self.path)
        if self.module._diff:
            result["diff"] = dict(before=before or "", after=text, before_header=self.path, after_header=self.path)
        if changed and not self.module.check_mode:
            try:
                replace_file(self.module.atomic_move, self.path, text.encode("utf-8"), before is not None)
            except FileWriteError as exc:
                self.module.fail_json(msg=exc.msg)
        if os.path.exists(self.path):
            file_args = self.module.load_file_common_arguments(self.module.params)
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        return changed, result


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, add_file_common_args=True, supports_check_mode=True)
    changed, result = ReportWriter(module).run()
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
