"""patch_module_args for the module tests: ansible-core's own since 2.19, before that the same
through basic._ANSIBLE_ARGS, which AnsibleModule reads its arguments from."""

import contextlib
import json
from unittest import mock

from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


__all__ = ["patch_module_args"]
