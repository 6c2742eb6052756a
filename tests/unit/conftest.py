"""Unit tests run modules in one process with the controller's own code (action plugins,
filters) imported beside them. Ansible keeps warnings in a process-wide registry and sends
them to the controller's display once controller code is loaded; each test starts as a
module would run on a target: an empty registry, warnings returned in the result."""

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as ansible_warnings


@pytest.fixture(autouse=True)
def module_side_warnings(monkeypatch):
    monkeypatch.setattr(_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    yield
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
