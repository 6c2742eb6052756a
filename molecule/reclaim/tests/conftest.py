"""The scenario's instance (the compose stand-in, or the dockerless host of reclaim-dockerless,
whose molecule.yml points its verifier here) and what prepare and side_effect kept."""

import json
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO_DIR / "molecule" / "shared"), str(REPO_DIR / "testbed")]

from moltest import Target, ephemeral_dir  # noqa: E402


class ComposeTarget(Target):
    def read_instance_file(self, name: str) -> tuple[str, int]:
        """(text, mode) of a file of the instance directory."""
        path = self.instance.directory / name
        return path.read_text(), path.stat().st_mode & 0o777

    def instance_file_exists(self, name: str) -> bool:
        return (self.instance.directory / name).exists()


class DockerlessTarget(Target):
    """Target's bucket checks; the instance is the dockerless host, read as root."""

    @property
    def dockerless(self):
        import dockerless

        return dockerless

    @property
    def url(self) -> str:
        return self.dockerless.url()

    def local_media(self) -> set[str]:
        out = self.dockerless.sh(f"cd {self.dockerless.INSTANCE_DIR}/images && find . -type f -printf '%P\\n'").stdout
        return set(out.split())

    def env(self) -> dict:
        lines = self.dockerless.sh(f"cat {self.dockerless.INSTANCE_DIR}/.env").stdout.splitlines()
        pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
        return {key.strip(): value.strip().strip("\"'") for key, value in pairs}

    def report(self, path: Path | None = None) -> dict:
        return json.loads(self.read_instance_file("bookwyrm-s3-report.json")[0])

    def read_instance_file(self, name: str) -> tuple[str, int]:
        path = f"{self.dockerless.INSTANCE_DIR}/{name}"
        mode = int(self.dockerless.sh(f"stat -c %a {path}").stdout.strip(), 8)
        return self.dockerless.sh(f"cat {path}").stdout, mode

    def instance_file_exists(self, name: str) -> bool:
        return self.dockerless.sh(f"test -e {self.dockerless.INSTANCE_DIR}/{name}", check=False).returncode == 0

    def snippet_exists(self) -> bool:
        return self.dockerless.sh("test -e /etc/nginx/conf.d/bookwyrm-s3-reclaim.conf", check=False).returncode == 0


@pytest.fixture(scope="module")
def target(host):
    variables = host.ansible.get_variables()
    kind = DockerlessTarget if variables.get("molecule_dockerless") else ComposeTarget
    return kind(variables["inventory_hostname"])


@pytest.fixture(scope="module")
def before() -> dict:
    return json.loads((ephemeral_dir() / "media-before.json").read_text())


@pytest.fixture(scope="module")
def tampered() -> str:
    return json.loads((ephemeral_dir() / "tampered.json").read_text())["path"]


@pytest.fixture(scope="module")
def rolled_back() -> bool:
    return (ephemeral_dir() / "rolled-back").exists()


@pytest.fixture
def reclaimed(rolled_back):
    if rolled_back:
        pytest.skip("checks of the reclaimed instance (first verify)")


@pytest.fixture
def after_rollback(rolled_back):
    if not rolled_back:
        pytest.skip("checks of the rolled-back instance (second verify)")
