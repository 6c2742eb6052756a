"""`molecule test` for each scenario under molecule/: real containers, the test bed's S3 server.

Each run's full output goes to .testbed/molecule/<scenario>.log.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_DIR / ".venv" / "bin"
SCENARIOS = ("provision", "migrate", "rollback")


@pytest.mark.testbed
@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, s3_server):
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
    result = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "-s", scenario],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    log = REPO_DIR / ".testbed" / "molecule" / f"{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    log.chmod(0o600)
    print(f"molecule test -s {scenario}: rc {result.returncode} in {seconds:.0f}s (log: {log})")
    assert s3_server.secret_key not in output, f"the S3 secret key appears in molecule's output ({log})"
    assert result.returncode == 0, f"molecule test -s {scenario} failed ({log}):\n{output[-6000:]}"
