"""Unit tests run modules in one process with the controller's own code (action plugins,
filters) imported beside them. Ansible keeps warnings in a process-wide registry and sends
them to the controller's display once controller code is loaded; each test starts as a
module would run on a target: an empty registry, warnings returned in the result.
ansible-core before 2.19 has no such switch (modules always return their warnings); 2.18 has
the package ansible.module_utils._internal without it."""

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

try:
    from ansible.module_utils import _internal
except ImportError:  # ansible-core < 2.19
    _internal = None


@pytest.fixture(autouse=True)
def module_side_warnings(monkeypatch):
    if hasattr(_internal, "is_controller"):
        monkeypatch.setattr(_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    yield
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
