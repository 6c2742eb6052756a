"""The scenario's dockerless host and bucket: the inventory host's name is the bucket's."""

import json
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO_DIR / "molecule" / "shared"), str(REPO_DIR / "testbed")]

import dockerless  # noqa: E402 - after the paths above
from moltest import Target, ephemeral_dir  # noqa: E402

INSTANCE_DIR = dockerless.INSTANCE_DIR


class DockerlessTarget(Target):
    """Target's bucket and page checks; the instance is the dockerless host, read as root."""

    @property
    def url(self) -> str:
        return dockerless.url()

    def local_media(self) -> set[str]:
        out = dockerless.sh(f"cd {INSTANCE_DIR}/images && find . -type f -printf '%P\\n'").stdout
        return set(out.split())

    def env(self) -> dict:
        lines = dockerless.sh(f"cat {INSTANCE_DIR}/.env").stdout.splitlines()
        pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
        return {key.strip(): value.strip().strip("\"'") for key, value in pairs}

    @property
    def report_path(self) -> Path:
        return Path(INSTANCE_DIR) / "bookwyrm-s3-report.json"

    def report(self, path: Path | None = None) -> dict:
        if path is not None:
            return json.loads(path.read_text())
        return json.loads(dockerless.sh(f"cat {self.report_path}").stdout)


@pytest.fixture(scope="module")
def target(host):
    return DockerlessTarget(host.ansible.get_variables()["inventory_hostname"])


@pytest.fixture(scope="module")
def rolled_back():
    return (ephemeral_dir() / "rolled-back").exists()
