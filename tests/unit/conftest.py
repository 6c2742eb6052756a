"""Unit tests run modules in one process: ansible keeps warnings in a process-wide registry,
so each test starts with an empty one."""

import pytest
from ansible.module_utils.common import warnings as ansible_warnings


@pytest.fixture(autouse=True)
def fresh_ansible_warnings():
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    yield
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
