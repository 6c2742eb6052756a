"""The test bed's second S3 server: Ceph's RADOS Gateway (RGW), built from Debian's packages.

One container (testbed/images/ceph: a mon, an OSD on memstore, radosgw) published on
127.0.0.1:7480 and attached to each instance's compose network under RGW_HOSTNAME, which
/etc/hosts also maps to 127.0.0.1: one endpoint URL works on the host and in the containers,
as with the SeaweedFS server. Unlike SeaweedFS it enforces object ACLs, so the
``public_access: acl`` path can be tested on it.

Its endpoint and keys go to .testbed/rgw.env (0600), in the format of .testbed/s3.env. When
S3_ENDPOINT_URL points the suite at another server, RGW is neither started nor used.

Hooks in bookwyrm_testbed.py: bed_up/bed_down call up()/down(), Instance.attach_s3/detach_s3
call attach()/detach().
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

import bookwyrm_testbed as bed

CONTAINER = f"{bed.IMAGE_PREFIX}-rgw"
IMAGE = f"{bed.IMAGE_PREFIX}/ceph:16"
HOSTNAME = os.environ.get("TESTBED_RGW_HOSTNAME", "rgw.bookwyrm.test")
PORT = int(os.environ.get("TESTBED_RGW_PORT", "7480"))
OTHER_ACCESS_KEY = "other-account"  # as on SeaweedFS: a second user owns "foreign" buckets


def enabled() -> bool:
    """RGW is part of the bed unless S3_ENDPOINT_URL points the suite at one other server."""
    return not os.environ.get("S3_ENDPOINT_URL") and os.environ.get("TESTBED_RGW", "1") != "0"


def state_dir() -> Path:
    return bed.TESTBED_DIR / "rgw"


def credentials_file() -> Path:
    return bed.TESTBED_DIR / "rgw.env"


def load() -> bed.S3Server:
    values = dict(
        line.split("=", 1)
        for line in credentials_file().read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return bed.S3Server(
        values["S3_ENDPOINT_URL"], values["S3_ACCESS_KEY"], values["S3_SECRET_KEY"], values["S3_REGION"]
    )


def ensure_hosts_entry() -> None:
    """HOSTNAME -> 127.0.0.1 on the host (bed.remove_hosts_entry removes it with the others)."""
    try:
        if socket.gethostbyname(HOSTNAME).startswith("127."):
            return
    except OSError:
        pass
    bed.log(f"adding '127.0.0.1 {HOSTNAME}' to {bed.HOSTS_FILE}")
    with bed.HOSTS_FILE.open("a") as hosts:
        hosts.write(f"127.0.0.1 {HOSTNAME} {bed.HOSTS_MARK}\n")


def _write_credentials() -> None:
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "testbed-" + secrets.token_hex(4), secrets.token_urlsafe(30)
    # Read by the container's start.sh (mounted read-only), never passed as -e: `docker
    # inspect` would show it.
    users = state / "users.env"
    users.touch(mode=0o600)
    users.write_text(
        f"S3_ACCESS_KEY='{access_key}'\nS3_SECRET_KEY='{secret_key}'\n"
        f"OTHER_ACCESS_KEY='{OTHER_ACCESS_KEY}'\nOTHER_SECRET_KEY='{secret_key[::-1]}'\n"
    )
    users.chmod(0o600)
    creds = credentials_file()
    creds.touch(mode=0o600)
    creds.write_text(
        f"S3_ENDPOINT_URL=http://{HOSTNAME}:{PORT}\nS3_ACCESS_KEY={access_key}\n"
        f"S3_SECRET_KEY={secret_key}\nS3_REGION={bed.S3_REGION}\n"
    )
    creds.chmod(0o600)


def up() -> bed.S3Server | None:
    """Start the RGW container unless it runs (idempotent); None when RGW is not in use."""
    if not enabled():
        return None
    ensure_hosts_entry()
    if not credentials_file().exists():
        # New keys: a container from an older bed knows other users, so it goes.
        if bed.container_exists(CONTAINER):
            bed.docker("rm", "-f", CONTAINER)
        _write_credentials()
    server = load()
    if not bed.container_running(CONTAINER):
        if bed.container_exists(CONTAINER):
            bed.docker("start", CONTAINER)
        else:
            bed.log("starting Ceph RGW")
            bed.docker(
                "run", "-d", "--name", CONTAINER,
                "--label", "bookwyrm-testbed=rgw",
                "-p", f"127.0.0.1:{PORT}:7480",
                "-v", f"{state_dir() / 'users.env'}:/etc/rgw-users.env:ro",
                "-e", "USERS_FILE=/etc/rgw-users.env",
                # memstore keeps the objects in RAM: a bound on what a runaway test can take
                "--memory", "1536m",
                "--stop-timeout", "20",
                IMAGE,
            )  # fmt: skip
    wait_ready(server)
    return server


def wait_ready(server: bed.S3Server, timeout: float = 120) -> None:
    bed.wait_s3_ready(server, timeout)


def down() -> None:
    if bed.container_exists(CONTAINER):
        bed.docker("rm", "-f", CONTAINER)
    shutil.rmtree(state_dir(), ignore_errors=True)
    credentials_file().unlink(missing_ok=True)


def attach(network: str) -> None:
    """Put RGW on an instance's network under HOSTNAME (no-op when it does not run)."""
    if not enabled() or not bed.container_running(CONTAINER):
        return
    networks = bed.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", CONTAINER).stdout
    if f'"{network}"' not in networks:
        bed.docker("network", "connect", "--alias", HOSTNAME, network, CONTAINER)


def detach(network: str) -> None:
    if bed.container_exists(CONTAINER):
        bed.docker("network", "disconnect", "-f", network, CONTAINER, check=False)


def main(argv=None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="rgw", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "env"])
    args = parser.parse_args(argv)
    if args.command == "up":
        server = up()
        print(json.dumps({"endpoint_url": server.endpoint_url if server else None}))
    elif args.command == "down":
        down()
    elif args.command == "env":
        print(credentials_file())
    return 0


if __name__ == "__main__":
    sys.exit(main())
