"""What the role reads on the host in one pass: .env without its secrets, the bucket history,
the compose project and its volumes, the web unit, a Python with boto3."""

import json
import os
import subprocess
import sys

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._host_info import (
    FIND_BOTO3,
    HostInfo,
    HostInfoError,
    compose_project,
    finds_boto3,
    read_history,
)

ENV = "DOMAIN=books.example.com\nUSE_S3=true\nAWS_STORAGE_BUCKET_NAME=media\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"


class FakeHost:
    """run_command answering docker, systemctl and a python's import check."""

    def __init__(self, volumes=(), unit="loaded", pythons_with_boto3=(), compose=("docker", "compose")):
        self.compose = list(compose)
        self.volumes = dict(volumes)
        self.unit = unit
        self.pythons = set(pythons_with_boto3)
        self.calls = []

    def run_command(self, argv, **_kwargs):
        self.calls.append(argv)
        if argv[:3] == ["docker", "volume", "inspect"]:
            name = argv[-1]
            return (0, self.volumes[name] + "\n", "") if name in self.volumes else (1, "", "no such volume: " + name)
        if argv[-1] == "version":
            return (
                (0, "Docker Compose version v2.29.7\n", "") if argv[:2] == self.compose else (1, "", "unknown command")
            )
        if argv[0] == "systemctl":
            return 0, self.unit + "\n", ""
        if argv[1:] == ["-c", FIND_BOTO3]:
            return (0, "", "") if argv[0] in self.pythons else (1, "", "ModuleNotFoundError: No module named 'boto3'")
        raise AssertionError(f"unexpected command {argv!r}")


def gather(tmp_path, host, own_has_boto3=True, which=("docker", "systemctl"), **kwargs):
    info = HostInfo(
        host.run_command,
        str(tmp_path / "bookwyrm"),
        str(tmp_path / "bookwyrm" / "history.json"),
        which=lambda name: "/usr/bin/" + name if name in which else None,
        **kwargs,
    )
    return info.gather("/usr/bin/python3", lambda: own_has_boto3)


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "bookwyrm").mkdir()
    (tmp_path / "bookwyrm" / ".env").write_text(ENV)
    return tmp_path / "bookwyrm"


def test_docker_install_read_in_one_pass(tmp_path, instance):
    host = FakeHost(
        volumes={"bookwyrm_media_volume": "/var/lib/docker/volumes/bookwyrm_media_volume/_data"}, unit="not-found"
    )
    info = gather(tmp_path, host)
    assert info["env_file"]["exists"] and info["env_file"]["uid"] == os.getuid()
    assert info["env"] == {"DOMAIN": "books.example.com", "USE_S3": "true", "AWS_STORAGE_BUCKET_NAME": "media"}
    assert "s3cr3t" not in json.dumps(info)  # no secret in what the task returns
    assert info["project"] == "bookwyrm"
    assert info["media_volume"].endswith("bookwyrm_media_volume/_data") and info["exports_volume"] == ""
    assert info["web_unit_state"] == "not-found" and info["history"] == []
    assert info["boto3_python"] == "/usr/bin/python3"
    assert info["compose"] == {"command": "docker compose", "version": "v2"}


def test_compose_v1_or_none(tmp_path, instance):
    v1 = FakeHost(compose=("docker-compose", "version"))
    assert gather(tmp_path, v1, which=("docker", "docker-compose"))["compose"] == {
        "command": "docker-compose",
        "version": "v1",
    }
    # no docker-compose binary: the driver's message, not an exception from run_command
    error = gather(tmp_path, FakeHost(compose=("none",)), which=("docker",))["compose"]["error"]
    assert "Install the compose v2 plugin or docker-compose" in error
    assert gather(tmp_path, FakeHost(), which=("systemctl",))["compose"] == {"error": "No docker on this host."}


def test_dockerless_host_without_docker(tmp_path, instance):
    host = FakeHost()
    info = gather(tmp_path, host, which=("systemctl",))
    assert info["media_volume"] == info["exports_volume"] == "" and info["web_unit_state"] == "loaded"
    assert not any(argv[0] == "docker" for argv in host.calls)


def test_no_systemd_no_unit_state(tmp_path, instance):
    assert gather(tmp_path, FakeHost(), which=("docker",))["web_unit_state"] == ""


def test_no_env_file(tmp_path):
    (tmp_path / "bookwyrm").mkdir()
    info = gather(tmp_path, FakeHost())
    assert info["env_file"] == {"exists": False, "path": str(tmp_path / "bookwyrm" / ".env")} and info["env"] == {}


def test_project_from_env_then_override(tmp_path, instance):
    (instance / ".env").write_text(ENV + "COMPOSE_PROJECT_NAME=Books.Prod\n")
    host = FakeHost(volumes={"booksprod_exports_volume": "/x"})
    info = gather(tmp_path, host)
    assert info["project"] == "booksprod" and info["exports_volume"] == "/x"
    assert gather(tmp_path, host, project_name="Other")["project"] == "other"


def test_compose_project_rule():
    assert compose_project("", {}, "/opt/BookWyrm.social/") == "bookwyrmsocial"
    assert compose_project("", {"COMPOSE_PROJECT_NAME": ""}, "/srv/bw") == "bw"


def test_another_python_is_asked(tmp_path, instance):
    host = FakeHost(pythons_with_boto3=["/opt/venv/bin/python"])
    assert gather(tmp_path, host, python="/opt/venv/bin/python")["boto3_python"] == "/opt/venv/bin/python"
    assert gather(tmp_path, host, python="/usr/local/bin/python3")["boto3_python"] == ""
    assert gather(tmp_path, host, own_has_boto3=False)["boto3_python"] == ""


def test_the_venv_of_an_earlier_run_when_the_python_has_no_boto3(tmp_path, instance):
    """A rerun finds the venv python.yml made, so nothing is installed again; a venv that is
    missing or has no boto3 (yet) is not taken, and a Python with boto3 comes first."""
    venv = tmp_path / "venv" / "bin" / "python"
    venv.parent.mkdir(parents=True)
    venv.write_text("")
    host = FakeHost(pythons_with_boto3=[str(venv)])
    assert gather(tmp_path, host, own_has_boto3=False, fallback_python=str(venv))["boto3_python"] == str(venv)
    assert gather(tmp_path, host, python="/usr/local/bin/python3", fallback_python=str(venv))["boto3_python"] == str(
        venv
    )
    assert gather(tmp_path, host, fallback_python=str(venv))["boto3_python"] == "/usr/bin/python3"
    without = FakeHost()
    assert gather(tmp_path, without, own_has_boto3=False, fallback_python=str(venv))["boto3_python"] == ""
    missing = str(tmp_path / "none" / "bin" / "python")
    assert gather(tmp_path, FakeHost(), own_has_boto3=False, fallback_python=missing)["boto3_python"] == ""


def test_history(tmp_path):
    path = tmp_path / "history.json"
    assert read_history(str(path)) == {"buckets": [], "connector": {}}
    path.write_text(json.dumps({"buckets": [{"bucket": "a", "endpoint_url": ""}]}))
    assert read_history(str(path)) == {"buckets": [{"bucket": "a", "endpoint_url": ""}], "connector": {}}
    checked = {"covers_url": "https://media.example/images/", "checked": "2026-12-07T02:00:00+00:00", "rows": 1}
    path.write_text(json.dumps({"buckets": [], "connector": checked}))
    assert read_history(str(path))["connector"] == checked
    path.write_text("{not json")
    with pytest.raises(HostInfoError, match="restore it from a backup"):
        read_history(str(path))


@pytest.mark.parametrize("packages, exit_code", [(None, 0), ("boto3_not_installed", 1)])
def test_boto3_is_found_without_being_imported(packages, exit_code):
    """FIND_BOTO3, run by another interpreter (here the test's own, which has boto3), exits 0
    only when every package is there, and imports none of them."""
    check = FIND_BOTO3 if packages is None else FIND_BOTO3.replace("'boto3'", repr(packages))
    code = "import sys\ntry:\n    exec(%r)\nexcept SystemExit as done:\n    print(done.code, 'botocore' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code % check], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(exit_code), "False"]
    assert finds_boto3()
