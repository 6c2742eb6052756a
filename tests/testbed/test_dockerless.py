"""The test bed's dockerless host (testbed/dockerless.py): systemd as PID 1, the three units
active, the page and its local media served by nginx, and SSH as the sudo user deploy."""

import re
import subprocess

import bookwyrm_testbed as bed
import dockerless
import pytest

pytestmark = pytest.mark.testbed


@pytest.fixture(scope="module")
def host(s3_server):
    return dockerless.up()


def ssh(*command):
    conn = dockerless.connection_vars()
    return subprocess.run(
        ["ssh", "-i", conn["ansible_ssh_private_key_file"], "-p", str(conn["ansible_port"]),
         *conn["ansible_ssh_common_args"].split(), "-o", "BatchMode=yes",
         f"{conn['ansible_user']}@{conn['ansible_host']}", *command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_systemd_is_pid_1_and_running(host):
    assert dockerless.sh("cat /proc/1/comm").stdout.strip() == "systemd"
    assert dockerless.system_state() == "running"


def test_units_active(host):
    assert dockerless.units_active() == dict.fromkeys(dockerless.UNITS, "active")
    for unit in ("postgresql.service", "redis-server.service", "nginx.service", "ssh.service"):
        assert dockerless.sh(f"systemctl is-active {unit}", check=False).stdout.strip() == "active", unit


def test_layout(host):
    out = dockerless.sh(
        "stat -c '%U %a %n' /opt/bookwyrm /opt/bookwyrm/.env /opt/bookwyrm/images /opt/bookwyrm/static"
        " /opt/bookwyrm/exports /opt/bookwyrm/venv/bin/gunicorn"
    ).stdout.splitlines()
    owners = {line.split()[2]: line.split()[:2] for line in out}
    assert all(owner == "bookwyrm" for owner, _mode in owners.values()), owners
    assert owners["/opt/bookwyrm/.env"][1] == "600"
    assert int(dockerless.sh("find /opt/bookwyrm/images -type f | wc -l").stdout) >= 300


def test_page_200_with_local_media(host):
    status, _, body = bed.http_get(dockerless.url())
    assert status == 200
    cover = re.search(r'<img class="book-cover" src="(/images/[^"]+)"', body.decode()).group(1)
    status, headers, _ = bed.http_get(dockerless.url().rstrip("/") + cover)
    assert status == 200 and headers["Content-Type"] == "image/png"


def test_s3_endpoint_same_name_inside(host):
    server = bed.load_s3()
    code = dockerless.sh(f"curl -s -o /dev/null -w '%{{http_code}}' {server.endpoint_url}/", check=False).stdout
    assert code in ("200", "403"), code  # an answer from the S3 server, anonymous


def test_ssh_as_deploy_with_sudo(host):
    result = ssh("sudo", "-n", "systemctl", "is-active", "bookwyrm.service")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "active"
    assert ssh("sudo", "-n", "id", "-u").stdout.strip() == "0"


def test_up_installs_the_current_key(host):
    """A container provisioned with another key pair (another checkout's .testbed, a new
    .testbed/ssh) lets the bed's current key in again after `up`."""
    dockerless.sh(
        "printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFormerKeyFormerKeyFormerKeyFormerKeyFormerK old\\n'"
        " >/home/deploy/.ssh/authorized_keys"
    )
    assert ssh("true").returncode == 255, "the stale key should have been refused"
    dockerless.up()
    result = ssh("sudo", "-n", "true")
    assert result.returncode == 0, result.stderr


def test_instance_url_answers_on_the_host_itself(host):
    """BookWyrm's own URL (DOMAIN=localhost: http://localhost:PORT/) answers inside the host,
    where the role's checks run, as on an admin's machine."""
    code = dockerless.sh(f"curl -s -o /dev/null -w '%{{http_code}}' {dockerless.url()}", check=False).stdout
    assert code == "200", code
