"""The migrate-ceph scenarios' instance and bucket (on the bed's Ceph RGW), and how the
scenario makes static/ and images/ public: "policy" (the ceph profile's default) or "acl"."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # molecule/shared

from moltest import Target


@pytest.fixture(scope="module")
def target(host):
    found = Target(host.ansible.get_variables()["inventory_hostname"])
    assert "7480" in found.s3.endpoint_url, f"{found.s3.endpoint_url} is not the bed's RGW (TESTBED_S3_SERVER=rgw)"
    return found


@pytest.fixture(scope="module")
def public_access(host):
    return host.ansible.get_variables().get("bookwyrm_s3_public_access") or "policy"
