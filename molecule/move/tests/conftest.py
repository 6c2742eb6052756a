"""The scenario's instance and bucket, named after the inventory host."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from moltest import Target


@pytest.fixture(scope="module")
def target(host):
    return Target(host.ansible.get_variables()["inventory_hostname"])
