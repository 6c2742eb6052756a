"""Run each integration target (tests/integration/targets/NAME/tasks/main.yml) against the
real S3 servers of the test bed with ansible-playbook.

The targets that talk to S3 (ON_EVERY_SERVER) run once per server: the bed's SeaweedFS and its
Ceph RGW (or, with S3_ENDPOINT_URL set, only the server it names: S3_SERVER_KIND tells the
targets which one it is, "seaweedfs", "ceph" or "other"). The others run once. A target
branches on ``s3_server_kind`` where the servers differ in what it pins down (the servers'
own CORS defaults, APIs one of them lacks); what the collection must do is the same on all.

Targets follow ansible-test's layout and community.docker's habit: every change runs four
times (check, apply, check again, apply again) and asserts the last two report no change.
Variables given to every target: s3_endpoint_url, s3_access_key, s3_secret_key, s3_region,
resource_prefix (unique per run, for bucket names) and output_dir (an empty scratch dir);
targets in NEEDS_INSTANCE also get instance_dir, instance_project and instance_url of a
running stand-in instance whose database has a legacy self connector.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

TARGETS_DIR = Path(__file__).parent / "targets"
TARGETS = sorted(p.name for p in TARGETS_DIR.iterdir() if (p / "tasks" / "main.yml").exists())
NEEDS_INSTANCE = {"connector", "verify"}
ON_EVERY_SERVER = {"bucket", "bucket_cors", "media_sync", "verify"}
INSTANCE_NAME, INSTANCE_PORT = "it-instance", 8121
# The first server: the bed's SeaweedFS, or the one S3_ENDPOINT_URL names.
PRIMARY = os.environ.get("S3_SERVER_KIND", "other") if os.environ.get("S3_ENDPOINT_URL") else "seaweedfs"
CASES = [(PRIMARY, target) for target in TARGETS]
if PRIMARY != "ceph":
    CASES += [("ceph", target) for target in TARGETS if target in ON_EVERY_SERVER]


@pytest.fixture(scope="module")
def it_instance(s3_server):
    import bookwyrm_testbed as bed

    instance = bed.create_instance(INSTANCE_NAME, http_port=INSTANCE_PORT)
    instance.up()
    instance.manage("initdb", "--legacy-self-connector")
    if bed.media_count(instance) == 0:
        bed.seed(instance, 3, 1, 1)
    yield instance
    bed.destroy_instance(INSTANCE_NAME)


@pytest.mark.testbed
@pytest.mark.parametrize(("server", "target"), CASES, ids=[f"{server}-{target}" for server, target in CASES])
def test_target(server, target, ansible_env, tmp_path, request):
    s3_server = request.getfixturevalue("rgw_server" if server == "ceph" and PRIMARY != "ceph" else "s3_server")
    variables = {
        "s3_server_kind": server,
        "s3_endpoint_url": s3_server.endpoint_url,
        "s3_access_key": s3_server.access_key,
        "s3_secret_key": s3_server.secret_key,
        "s3_region": s3_server.region,
        "resource_prefix": f"it-{target.replace('_', '-')[:20]}-{uuid.uuid4().hex[:8]}",
        "output_dir": str(tmp_path / "output"),
    }
    if target in NEEDS_INSTANCE:
        instance = request.getfixturevalue("it_instance")
        variables.update(
            instance_dir=str(instance.directory), instance_project=instance.name, instance_url=instance.url
        )
    extra_vars = tmp_path / "vars.json"
    extra_vars.write_text(json.dumps(variables))
    extra_vars.chmod(0o600)
    (tmp_path / "output").mkdir()
    playbook = tmp_path / "run.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  roles:\n    - role: {TARGETS_DIR / target}\n"
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            f"@{extra_vars}",
        ],
        env=ansible_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert s3_server.secret_key not in result.stdout + result.stderr, "the secret key leaked into the output"
