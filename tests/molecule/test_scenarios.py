"""`molecule test` for each scenario under molecule/: real containers, the test bed's S3 server
(SeaweedFS; Ceph RGW for the migrate-ceph-* scenarios, skipped when S3_ENDPOINT_URL names one server).

Each run's full output goes to .testbed/molecule/<scenario>.log.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_DIR / ".venv" / "bin"
SCENARIOS = (
    "provision",
    "migrate",
    "rollback",
    "move",
    "migrate-ceph-policy",
    "migrate-ceph-acl",
    "reclaim",  # issue 13: reclaim the disk, the old link's redirect, rollback (compose)
    "dockerless",  # issue 13: a systemd host over SSH: migrate, rerun, audit, rollback
    "reclaim-dockerless",  # the reclaim scenario on a dockerless host of its own
)
# Scenarios on the bed's second S3 server (their molecule.yml sets TESTBED_S3_SERVER=rgw).
RGW_SCENARIOS = ("migrate-ceph-policy", "migrate-ceph-acl")
# dockerless migrates, reruns, audits and rolls back twice in one run; the others take 3-6
# minutes, up to 15 when the bed's 2 cores are shared (load 35: the ceph scenarios took 900 s)
TIMEOUTS = {"dockerless": 3000}
TIMEOUT = 1800


def run_molecule(args: list, env: dict, timeout: float = TIMEOUT) -> tuple[int, str]:
    """molecule ARGS in its own process group: (return code, stdout and stderr). On timeout the
    whole group is stopped (ansible-playbook too), then `molecule destroy` removes what it left."""
    command = [str(VENV_BIN / "molecule"), *args]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    with subprocess.Popen(command, cwd=REPO_DIR, env=env, start_new_session=True, **pipes) as proc:
        try:
            output = proc.communicate(timeout=timeout)[0]
            return proc.returncode, output
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            output = proc.communicate()[0] + f"\n[timed out after {timeout}s]\n"
    cleanup = subprocess.run(
        [command[0], "destroy", *args[1:]], cwd=REPO_DIR, env=env, capture_output=True, text=True, check=False
    )
    return -1, output + cleanup.stdout + cleanup.stderr


@pytest.mark.testbed
@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, s3_server, request):
    if scenario == "dockerless":  # its host is part of `make testbed`; brought up if it is not
        import dockerless

        dockerless.up()
    servers = [s3_server]
    if scenario in RGW_SCENARIOS:
        servers.append(request.getfixturevalue("rgw_server"))  # starts nothing: skips or fails when RGW is not up
    env = dict(os.environ)
    for key in ("ANSIBLE_CONFIG", "MOLECULE_PROJECT_DIRECTORY", "MOLECULE_EPHEMERAL_DIRECTORY"):
        env.pop(key, None)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(REPO_DIR / ".build" / "collections"),
        MOLECULE_NO_LOG="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PY_COLORS="0",
        NO_COLOR="1",
        DO_NOT_TRACK="1",
    )
    started = time.monotonic()
    returncode, output = run_molecule(["test", "-s", scenario], env, TIMEOUTS.get(scenario, TIMEOUT))
    seconds = time.monotonic() - started
    log = REPO_DIR / ".testbed" / "molecule" / f"{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    log.chmod(0o600)
    print(f"molecule test -s {scenario}: rc {returncode} in {seconds:.0f}s (log: {log})")
    for server in servers:
        assert server.secret_key not in output, f"an S3 secret key appears in molecule's output ({log})"
    assert returncode == 0, f"molecule test -s {scenario} failed ({log}):\n{output[-6000:]}"
