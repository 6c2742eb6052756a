"""The test bed's SSH target: this machine as an admin's BookWyrm host is reached.

An sshd of our own on 127.0.0.1:2222 (its own config, host key and pid file, beside any sshd
the machine runs), key authentication only, and an unprivileged user ``deploy`` with
passwordless sudo. Ansible connects as ``deploy`` and becomes root, and discovers the system
``/usr/bin/python3``, which has no boto3: exactly what an admin's laptop or CI runner meets.

Why on this machine and not in a container: the instances are compose projects of this
machine's Docker engine, with their directories and volumes on its disk, as on an admin's
VPS. A container target would have to bind-mount the Docker socket, the instance directories
and the volumes' mount points at the same paths to run the same commands, which makes it the
same host in all but name, plus a network namespace that would hide 127.0.0.1.

    python testbed/ssh_target.py up | down | vars
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
TESTBED_DIR = Path(os.environ.get("TESTBED_DIR", REPO_DIR / ".testbed"))
SSH_DIR = TESTBED_DIR / "ssh"
SSH_HOST = "127.0.0.1"
SSH_PORT = int(os.environ.get("TESTBED_SSH_PORT", "2222"))
SSH_USER = os.environ.get("TESTBED_SSH_USER", "deploy")
SUDOERS_FILE = Path(f"/etc/sudoers.d/bookwyrm-testbed-{SSH_USER}")
USER_MARK = "bookwyrm-testbed ssh target"  # in the GECOS field: only a user we made is removed
SSHD = shutil.which("sshd", path="/usr/sbin:/usr/bin:/sbin") or "/usr/sbin/sshd"
# The system Python a fresh host has (no boto3); ansible finds it by interpreter discovery.
SYSTEM_PYTHON = "/usr/bin/python3"


def log(msg: str) -> None:
    print(f"\033[1m[testbed]\033[0m {msg}", file=sys.stderr, flush=True)


def run(argv, check=True):
    return subprocess.run(argv, check=check, text=True, capture_output=True)


def key_file() -> Path:
    return SSH_DIR / "id_ed25519"


def pid_file() -> Path:
    return SSH_DIR / "sshd.pid"


def connection_vars() -> dict:
    """The inventory variables of a host behind this target (what an admin writes)."""
    return {
        "ansible_host": SSH_HOST,
        "ansible_port": SSH_PORT,
        "ansible_user": SSH_USER,
        "ansible_ssh_private_key_file": str(key_file()),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={SSH_DIR / 'known_hosts'} -o StrictHostKeyChecking=yes",
        "ansible_become": True,
    }


def listening(timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((SSH_HOST, SSH_PORT), timeout=timeout) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def sshd_pid() -> int | None:
    try:
        pid = int(pid_file().read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def ensure_user() -> None:
    try:
        pwd.getpwnam(SSH_USER)
    except KeyError:
        log(f"adding the sudo user {SSH_USER}")
        run(["useradd", "--create-home", "--shell", "/bin/bash", "--comment", USER_MARK, SSH_USER])
    # A new user's password is locked ('!'), and sshd refuses locked accounts even with a key.
    run(["usermod", "-p", "*", SSH_USER])
    entry = pwd.getpwnam(SSH_USER)
    ssh_dir = Path(entry.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(Path(f"{key_file()}.pub").read_text())
    for path, mode in ((ssh_dir, 0o700), (authorized, 0o600)):
        os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(mode)
    if not SUDOERS_FILE.exists():
        SUDOERS_FILE.write_text(f"{SSH_USER} ALL=(ALL) NOPASSWD:ALL\n")
        SUDOERS_FILE.chmod(0o440)
        run(["visudo", "-cf", str(SUDOERS_FILE)])


def write_config() -> tuple[Path, bool]:
    """Write sshd's configuration; say whether it differs from the one already there."""
    config = SSH_DIR / "sshd_config"
    before = config.read_text() if config.exists() else None
    config.write_text(
        "\n".join(
            [
                f"Port {SSH_PORT}",
                f"ListenAddress {SSH_HOST}",
                f"HostKey {SSH_DIR / 'ssh_host_ed25519_key'}",
                f"PidFile {pid_file()}",
                f"AllowUsers {SSH_USER}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin no",
                "UsePAM no",
                "X11Forwarding no",
                "PrintMotd no",
                "AcceptEnv LANG LC_*",
                "Subsystem sftp internal-sftp",
                # One inventory host per test case, all on this sshd (forks=20, one ControlMaster):
                # the defaults (10 sessions per connection, new logins dropped past 10 pending)
                # turn some hosts unreachable at random.
                "MaxSessions 100",
                "MaxStartups 100:30:200",
                "",
            ]
        )
    )
    config.chmod(0o600)
    return config, config.read_text() != before


def up() -> dict:
    if not Path(SSHD).exists() or not shutil.which("sudo"):
        raise SystemExit("openssh-server and sudo are needed (testbed/bin/lib.sh installs them)")
    SSH_DIR.mkdir(parents=True, exist_ok=True)
    SSH_DIR.chmod(0o700)
    host_key = SSH_DIR / "ssh_host_ed25519_key"
    if not host_key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    if not key_file().exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bookwyrm-testbed", "-f", str(key_file())])
    key_type, key_data = Path(f"{host_key}.pub").read_text().split()[:2]
    (SSH_DIR / "known_hosts").write_text(f"[{SSH_HOST}]:{SSH_PORT} {key_type} {key_data}\n")
    ensure_user()
    config, config_changed = write_config()
    if config_changed and sshd_pid() is not None:
        log("sshd's configuration changed: reloading it")
        run([SSHD, "-t", "-f", str(config)])
        os.kill(sshd_pid(), signal.SIGHUP)
        deadline = time.monotonic() + 5  # sshd re-executes itself on SIGHUP
        while not listening() and time.monotonic() < deadline:
            time.sleep(0.1)
    if sshd_pid() is None or not listening():
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        log(f"starting sshd on {SSH_HOST}:{SSH_PORT}")
        run([SSHD, "-t", "-f", str(config)])
        run([SSHD, "-f", str(config)])
        deadline = time.monotonic() + 15
        while not listening():
            if time.monotonic() > deadline:
                raise SystemExit(f"sshd did not answer on {SSH_HOST}:{SSH_PORT}")
            time.sleep(0.2)
    summary = connection_vars()
    (SSH_DIR / "vars.json").write_text(json.dumps(summary, indent=2))
    return summary


def down() -> None:
    pid = sshd_pid()
    if pid:
        log(f"stopping sshd (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
    try:
        made_by_us = USER_MARK in pwd.getpwnam(SSH_USER).pw_gecos
    except KeyError:
        made_by_us = False
    if made_by_us:
        log(f"removing the user {SSH_USER}")
        run(["pkill", "-u", SSH_USER], check=False)  # leftover ControlPersist sessions
        run(["userdel", "--remove", SSH_USER], check=False)
    SUDOERS_FILE.unlink(missing_ok=True)
    shutil.rmtree(SSH_DIR, ignore_errors=True)


def main(argv=None) -> int:
    command = (argv or sys.argv[1:] or ["up"])[0]
    if command == "up":
        print(json.dumps(up(), indent=2))
    elif command == "down":
        down()
    elif command == "vars":
        print(json.dumps(connection_vars(), indent=2))
    else:
        raise SystemExit(f"usage: {Path(__file__).name} up|down|vars")
    return 0


if __name__ == "__main__":
    sys.exit(main())
