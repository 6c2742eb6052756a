"""What each module imports: a module run is a fresh Python process, on every run of the role,
so an import it does not need is paid each time (measured on the 2-core bench machine: boto3
and botocore ~300 ms, ansible.module_utils.urls with the cryptography it loads ~70 ms)."""

import os
import subprocess
import sys

import pytest

PACKAGE = "ansible_collections.bookwyrm.s3.plugins.modules."
HEAVY = ("botocore", "boto3", "ansible.module_utils.urls")

# module -> the heavy imports it may make (what it uses)
MAY_IMPORT = {
    "host_info": (),
    "dotenv": (),
    "report": (),
    "instance": (),  # its HEAD and health checks import urls when they run
    "connector": (),
    "verify": ("ansible.module_utils.urls",),  # fetch_url; it reads the reclaim manifest without botocore
    "bucket": ("botocore", "boto3"),  # urls only with bucket_cors, which sends preflights
}


@pytest.mark.parametrize("module", sorted(MAY_IMPORT))
def test_module_imports_only_what_it_uses(module):
    code = f"import sys; import {PACKAGE}{module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))  # the collection as the tests import it
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert set(done.stdout.split()) <= set(MAY_IMPORT[module])
