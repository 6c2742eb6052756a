# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.doc_fragments.action_common_attributes import ModuleDocFragment as ActionCommon
from ansible_collections.bookwyrm.s3.plugins.plugin_utils._doc_fragments import composed


class ModuleDocFragment(object):
    # The attributes every module of this collection shares, with ansible-core's descriptions
    # of check_mode, diff_mode and platform; a module adds its own details (or says less, as
    # verify does of diff mode).
    OURS = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second run
        reports no change.
    support: full
"""

    def __init__(self):
        # Composed on load, as s3_connection is (ansible-test's yamllint reads class-level strings).
        self.DOCUMENTATION = composed(self.OURS, ActionCommon.DOCUMENTATION)
