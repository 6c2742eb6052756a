"""The test bed's dockerless BookWyrm host: one container with systemd as PID 1.

What an admin who followed upstream's "install without Docker" docs has: PostgreSQL, Redis and
nginx as system services, the checkout in /opt/bookwyrm owned by the system user ``bookwyrm``
(venv in ``venv/``, ``.env`` at the top, media in ``images/``, static in ``static/``, exports
in ``exports/``), the units bookwyrm.service (gunicorn), bookwyrm-worker.service and
bookwyrm-scheduler.service, and sshd with a sudo user ``deploy`` (the bed's SSH key pair,
testbed/ssh_target.py). The code is the stand-in (testbed/instance), installed as it is.

The container runs unprivileged (``--tmpfs /run --tmpfs /run/lock`` and the host's cgroup tree
read-only; ``--privileged`` fails on these machines). sshd and nginx are published on
127.0.0.1 only, and the container sits on a network of its own where the bed's S3 server
answers under the same name as on the host, so one endpoint URL works everywhere.

    python testbed/dockerless.py up | down | vars | ssh-vars
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import bookwyrm_testbed as bed
import ssh_target

REPO_DIR = bed.REPO_DIR
TESTBED_DIR = bed.TESTBED_DIR
DEFAULT_NAME = "bookwyrm-testbed-dockerless"
# A second host (its own name, ports and seed, e.g. molecule's reclaim-dockerless) keeps its
# own network and state directory beside the bed's.
NAME = os.environ.get("TESTBED_DOCKERLESS_NAME", DEFAULT_NAME)
IMAGE = f"{bed.IMAGE_PREFIX}/dockerless:latest"
BASE_IMAGE = f"{bed.IMAGE_PREFIX}/debian:trixie"
NETWORK = NAME
SSH_PORT = int(os.environ.get("TESTBED_DOCKERLESS_SSH_PORT", "2223"))
HTTP_PORT = int(os.environ.get("TESTBED_DOCKERLESS_HTTP_PORT", "8160"))
IMAGE_DIR = REPO_DIR / "testbed" / "images" / "dockerless"
INSTANCE_DIR = "/opt/bookwyrm"
UNITS = ("bookwyrm.service", "bookwyrm-worker.service", "bookwyrm-scheduler.service")
# covers (+4 thumbnails each), avatars, previews: 680 files unless TESTBED_DOCKERLESS_SEED says
SEED = tuple(int(n) for n in os.environ.get("TESTBED_DOCKERLESS_SEED", "120,40,40").split(","))
PROVISIONED = "/etc/bookwyrm-testbed-provisioned"
log = bed.log


def state_dir() -> Path:
    return TESTBED_DIR / ("dockerless" if NAME == DEFAULT_NAME else NAME)


def url() -> str:
    return f"http://localhost:{HTTP_PORT}/"


def connection_vars() -> dict:
    """The inventory variables of the dockerless host (what an admin writes)."""
    return {
        "ansible_host": "127.0.0.1",
        "ansible_port": SSH_PORT,
        "ansible_user": "deploy",
        "ansible_ssh_private_key_file": str(ssh_target.key_file()),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={state_dir() / 'known_hosts'} -o StrictHostKeyChecking=yes",
        "ansible_become": True,
    }


def sh(script: str, data: str | None = None, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """A shell script as root in the container; secrets go through ``data`` (stdin), never argv."""
    result = subprocess.run(
        ["docker", "exec", "-i", NAME, "sh", "-ec", script],
        input=data if data is not None else "",
        text=True,
        capture_output=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"in {NAME}: `{script[:80]}` failed (rc={result.returncode}): {result.stderr.strip()[-1500:]}"
        )
    return result


def manage(*args: str, timeout: float = 900) -> str:
    """A management command as upstream's docs run them: as bookwyrm, from the checkout, in its venv."""
    quoted = " ".join(f"'{a}'" for a in args)
    return sh(f"cd {INSTANCE_DIR} && runuser -u bookwyrm -- venv/bin/python manage.py {quoted}", timeout=timeout).stdout


# --------------------------------------------------------------------------------------
# Image
# --------------------------------------------------------------------------------------


def _sources() -> list[Path]:
    return [p for root in (IMAGE_DIR, bed.INSTANCE_TEMPLATE) for p in root.rglob("*") if p.is_file()]


def _ignored(_directory, names):
    return [n for n in names if n in ("__pycache__", ".env", "ca-certificates") or n.endswith(".pyc")]


def ensure_image() -> None:
    marker = TESTBED_DIR / "dockerless" / ".image-built"  # one image for every host
    if bed.docker("image", "inspect", IMAGE, check=False).returncode == 0 and marker.exists():
        newest = max(p.stat().st_mtime for p in _sources())
        if newest <= marker.stat().st_mtime:
            return
    if bed.docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        # testbed/bin/lib.sh makes the trixie base (debootstrap when no registry answers)
        bed.run(["bash", "-c", f"source {REPO_DIR}/testbed/bin/lib.sh && ensure_base_image trixie"])
    context = TESTBED_DIR / "cache" / "dockerless-build"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(IMAGE_DIR, context)
    shutil.copytree(bed.INSTANCE_TEMPLATE, context / "instance", ignore=_ignored)
    cas = context / "ca-certificates"
    cas.mkdir(exist_ok=True)
    (cas / ".keep").touch()
    for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
        shutil.copy2(crt, cas / crt.name)
    log(f"building {IMAGE}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    bed.run(
        ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", IMAGE, str(context)], capture=True
    )
    log(f"built {IMAGE} in {time.monotonic() - started:.0f}s")
    marker.touch()
    shutil.rmtree(context, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Network and S3
# --------------------------------------------------------------------------------------


def ensure_network() -> None:
    if bed.docker("network", "inspect", NETWORK, check=False).returncode != 0:
        bed.docker("network", "create", "--label", "bookwyrm-testbed=dockerless", NETWORK)


def attach_s3() -> None:
    """The S3 server (and RGW when it runs) on our network under the endpoint's host name."""
    import rgw

    rgw.attach(NETWORK)
    if os.environ.get("S3_ENDPOINT_URL") or not bed.container_running(bed.S3_CONTAINER):
        return
    attached = bed.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", bed.S3_CONTAINER).stdout
    if NETWORK not in json.loads(attached):
        bed.docker("network", "connect", "--alias", bed.S3_HOSTNAME, NETWORK, bed.S3_CONTAINER)


def detach_s3() -> None:
    import rgw

    rgw.detach(NETWORK)
    bed.docker("network", "disconnect", "-f", NETWORK, bed.S3_CONTAINER, check=False)


# --------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------


def system_state() -> str:
    result = sh("systemctl is-system-running --wait 2>/dev/null || true", check=False, timeout=120)
    return result.stdout.strip()


def container_exists() -> bool:
    # `docker container inspect`: the network has the same name, and plain inspect finds it
    return bed.docker("container", "inspect", NAME, check=False).returncode == 0


def start_container() -> None:
    if bed.container_running(NAME):
        return
    if container_exists():
        bed.docker("start", NAME)
    else:
        log(f"starting {NAME} (systemd as PID 1; ssh 127.0.0.1:{SSH_PORT}, http 127.0.0.1:{HTTP_PORT})")
        bed.docker(
            "run", "-d", "--name", NAME, "--hostname", "bookwyrm-dockerless",
            "--label", "bookwyrm-testbed=dockerless",
            "--network", NETWORK,
            "--tmpfs", "/run", "--tmpfs", "/run/lock",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            "-p", f"127.0.0.1:{SSH_PORT}:22", "-p", f"127.0.0.1:{HTTP_PORT}:80",
            IMAGE, "/sbin/init",
        )  # fmt: skip
    bed.wait_until(lambda: bed.container_running(NAME) and sh("true", check=False).returncode == 0, 60, NAME)
    # right after boot `is-system-running --wait` can answer nothing: ask until it says
    bed.wait_until(lambda: system_state() in ("running", "degraded"), 180, f"systemd in {NAME} to finish booting")


def env_text() -> str:
    """The instance's .env: the stand-in's example with this host's services and fresh secrets."""
    values = {
        "SECRET_KEY": secrets.token_hex(24),
        "DOMAIN": "localhost",
        "PORT": str(HTTP_PORT),
        "TESTBED_HTTP_PORT": str(HTTP_PORT),
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "REDIS_ACTIVITY_HOST": "127.0.0.1",
        "REDIS_ACTIVITY_DB_INDEX": "1",
        "REDIS_BROKER_HOST": "127.0.0.1",
        "REDIS_BROKER_PASSWORD": secrets.token_hex(12),
    }
    values["REDIS_ACTIVITY_PASSWORD"] = values["REDIS_BROKER_PASSWORD"]  # one redis-server here
    lines = (bed.INSTANCE_TEMPLATE / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in values:
            lines[index] = f"{key}={values.pop(key)}"
    lines.extend(f"{key}={value}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def install_admin_key() -> None:
    """deploy's authorized key is the bed's current one: a container kept from an earlier bed
    (whose .testbed/ssh was made anew since) would otherwise refuse the new key."""
    sh(
        "install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh && cat >/home/deploy/.ssh/authorized_keys"
        " && chown deploy:deploy /home/deploy/.ssh/authorized_keys && chmod 0600 /home/deploy/.ssh/authorized_keys",
        data=Path(f"{ssh_target.key_file()}.pub").read_text(),
    )


def provision() -> None:
    """First start: keys, .env, database, redis password, migrations, static, units, media."""
    if sh(f"test -f {PROVISIONED}", check=False).returncode == 0:
        return
    log(f"provisioning {NAME}")
    env = env_text()
    values = dict(line.split("=", 1) for line in env.splitlines() if "=" in line and not line.startswith("#"))
    sh(f"umask 077 && cat >{INSTANCE_DIR}/.env && chown bookwyrm:bookwyrm {INSTANCE_DIR}/.env", data=env)
    # Secrets reach psql and redis.conf on stdin.
    sh(
        "runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -f -",
        data=(
            f"CREATE ROLE bookwyrm LOGIN PASSWORD '{values['POSTGRES_PASSWORD']}';\n"
            "CREATE DATABASE bookwyrm OWNER bookwyrm ENCODING 'UTF8';\n"
        ),
    )
    sh(
        "cat >>/etc/redis/redis.conf && systemctl restart redis-server.service",
        data=f"\n# bookwyrm-testbed\nrequirepass {values['REDIS_BROKER_PASSWORD']}\n",
    )
    manage("migrate", "--no-input")
    manage("initdb")
    sh(
        f"cd {INSTANCE_DIR} && runuser -u bookwyrm -- sh -c "
        "'venv/bin/python manage.py compile_themes && venv/bin/python manage.py collectstatic --no-input' >/dev/null"
    )
    # The instance's own URL (http://localhost:PORT, as BookWyrm derives it from DOMAIN=localhost)
    # answers on the host itself too, as on an admin's machine: the role checks it from there.
    sh(
        f"sed -i 's/^    listen 80 default_server;$/&\\n    listen {HTTP_PORT};/' /etc/nginx/sites-available/bookwyrm"
        " && nginx -t -q && systemctl reload nginx.service"
    )
    sh("systemctl enable --now " + " ".join(UNITS) + " >/dev/null 2>&1")
    log(f"seeding {SEED[0]} covers (with thumbnails), {SEED[1]} avatars, {SEED[2]} previews")
    manage("seed_media", "--covers", str(SEED[0]), "--avatars", str(SEED[1]), "--previews", str(SEED[2]))
    sh(f"touch {PROVISIONED}")


def write_known_hosts() -> None:
    key_type, key_data = sh("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
    state_dir().mkdir(parents=True, exist_ok=True)
    (state_dir() / "known_hosts").write_text(f"[127.0.0.1]:{SSH_PORT} {key_type} {key_data}\n")


def units_active() -> dict:
    out = sh("systemctl is-active " + " ".join(UNITS), check=False).stdout.split()
    return dict(zip(UNITS, out))


def up() -> dict:
    bed.s3_up()
    if not ssh_target.key_file().exists():
        ssh_target.up()  # the bed's key pair, shared with its SSH target
    ensure_image()
    ensure_network()
    start_container()
    attach_s3()
    provision()
    install_admin_key()
    write_known_hosts()
    bed.wait_until(lambda: all(v == "active" for v in units_active().values()), 120, f"the units in {NAME}")
    bed.wait_until(lambda: bed.http_get(url())[0] == 200, 120, f"{url()} to answer 200")
    summary = {"container": NAME, "url": url(), "instance_dir": INSTANCE_DIR, "ssh": connection_vars()}
    (state_dir() / "vars.json").write_text(json.dumps(summary, indent=2))
    return summary


def down() -> None:
    if container_exists():
        log(f"removing {NAME}")
        bed.docker("rm", "-f", "-v", NAME, check=False)
    if bed.docker("network", "inspect", NETWORK, check=False).returncode == 0:
        detach_s3()
        bed.docker("network", "rm", NETWORK, check=False)
    shutil.rmtree(state_dir(), ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dockerless", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "vars", "recreate"])
    args = parser.parse_args(argv)
    if args.command == "up":
        print(json.dumps(up(), indent=2))
    elif args.command == "recreate":  # a fresh container (a migrated one goes), same image
        if container_exists():
            bed.docker("rm", "-f", "-v", NAME, check=False)
        print(json.dumps(up(), indent=2))
    elif args.command == "down":
        down()
    elif args.command == "vars":
        print(json.dumps(connection_vars(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
