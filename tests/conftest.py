"""Make this checkout importable as the collection bookwyrm.s3, and the test bed as a module."""

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = REPO_DIR / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS_DIR / "ansible_collections" / "bookwyrm" / "s3"

if not COLLECTION_LINK.exists():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_LINK.symlink_to(REPO_DIR)
for path in (str(COLLECTIONS_DIR), str(REPO_DIR / "testbed")):
    if path not in sys.path:
        sys.path.insert(0, path)


import os  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def s3_server():
    """The real S3 server of the test bed (or the one S3_ENDPOINT_URL names)."""
    import bookwyrm_testbed

    try:
        server = bookwyrm_testbed.load_s3()
    except FileNotFoundError:
        pytest.fail("the test bed is not up: run `make testbed` (or set S3_ENDPOINT_URL, S3_ACCESS_KEY, S3_SECRET_KEY)")
    bookwyrm_testbed.wait_s3_ready(server, timeout=30)
    return server


@pytest.fixture(scope="session")
def rgw_server():
    """The test bed's second S3 server, Ceph RGW (skipped when S3_ENDPOINT_URL names one server)."""
    import bookwyrm_testbed
    import rgw

    if not rgw.enabled():
        pytest.skip("S3_ENDPOINT_URL points the suite at one server: the bed's Ceph RGW is not used")
    try:
        server = rgw.load()
    except FileNotFoundError:
        pytest.fail("the test bed's Ceph RGW is not up: run `make testbed`")
    bookwyrm_testbed.wait_s3_ready(server, timeout=30)
    return server


@pytest.fixture(scope="session")
def ansible_env():
    """Environment for ansible-playbook runs: this checkout as bookwyrm.s3, nothing phones home."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_DIR),
        ANSIBLE_CONFIG=str(REPO_DIR / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        DO_NOT_TRACK="1",
    )
    return env
