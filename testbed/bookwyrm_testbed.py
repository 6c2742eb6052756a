"""The local test bed: a SeaweedFS S3 server and stand-in BookWyrm instances in Docker.

Used three ways: as the ``testbed`` command line (``make testbed``), by pytest fixtures, and
by the molecule scenarios. ``testbed/bin/lib.sh`` has already made sure the engine, compose
v2 and the images exist before anything here runs.

Everything listens on 127.0.0.1 only. The S3 server is one container, published on
127.0.0.1 and attached to each instance's compose network under the same name, so the one
endpoint URL in ``.env`` works for the modules on the host and for collectstatic inside the
web container.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import ssh_target

REPO_DIR = Path(__file__).resolve().parent.parent
TESTBED_DIR = Path(os.environ.get("TESTBED_DIR", REPO_DIR / ".testbed"))
INSTANCE_TEMPLATE = REPO_DIR / "testbed" / "instance"
IMAGE_PREFIX = "bookwyrm-testbed"
# TESTBED_S3_SERVER=seaweedfs-2: a second SeaweedFS of its own (container, name, port, data),
# for a suite that kills its server while other suites run on the first (`make test` lanes).
S3_NAME = "s3-2" if os.environ.get("TESTBED_S3_SERVER") == "seaweedfs-2" else "s3"
S3_CONTAINER = f"{IMAGE_PREFIX}-{S3_NAME}"
S3_HOSTNAME = os.environ.get("TESTBED_S3_HOSTNAME", f"{S3_NAME}.bookwyrm.test")
S3_PORT = int(os.environ.get("TESTBED_S3_PORT", "8334" if S3_NAME == "s3-2" else "8333"))
S3_REGION = "us-east-1"
HOSTS_FILE = Path(os.environ.get("TESTBED_HOSTS_FILE", "/etc/hosts"))
HOSTS_MARK = "# bookwyrm-testbed"
DEFAULT_INSTANCE = "bookwyrm"
DEFAULT_HTTP_PORT = 8080


def log(msg: str) -> None:
    print(f"\033[1m[testbed]\033[0m {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, capture=False, cwd=None, env=None, timeout=None):
    return subprocess.run(
        cmd,
        check=check,
        cwd=cwd,
        env=env,
        timeout=timeout,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )


def docker(*args, check=True, capture=True):
    return run(["docker", *args], check=check, capture=capture)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def http_get(url: str, timeout: float = 5.0, headers: dict | None = None, method: str = "GET"):
    """GET (or ``method``) a URL; returns (status, headers, body). Never raises on HTTP errors."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


# --------------------------------------------------------------------------------------
# S3 server
# --------------------------------------------------------------------------------------


@dataclass
class S3Server:
    """Where the suite's S3 server is and how to log in. Secrets stay in a 0600 file."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = S3_REGION
    external: bool = False  # pointed at by S3_ENDPOINT_URL: we neither start nor kill it

    @property
    def env(self) -> dict:
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_ACCESS_KEY": self.access_key,
            "S3_SECRET_KEY": self.secret_key,
            "S3_REGION": self.region,
        }

    def client(self, secret_key: str | None = None, access_key: str | None = None):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )


def s3_state_dir() -> Path:
    return TESTBED_DIR / S3_NAME


def s3_credentials_file() -> Path:
    return TESTBED_DIR / f"{S3_NAME}.env"


def load_s3() -> S3Server:
    """The S3 server the suite uses: the user's (S3_* environment) or the bed's.

    TESTBED_S3_SERVER=rgw picks the bed's second server, Ceph RGW (testbed/rgw.py).
    """
    if os.environ.get("TESTBED_S3_SERVER") == "rgw" and not os.environ.get("S3_ENDPOINT_URL"):
        import rgw

        return rgw.load()
    if os.environ.get("S3_ENDPOINT_URL"):
        return S3Server(
            endpoint_url=os.environ["S3_ENDPOINT_URL"],
            access_key=os.environ["S3_ACCESS_KEY"],
            secret_key=os.environ["S3_SECRET_KEY"],
            region=os.environ.get("S3_REGION", S3_REGION),
            external=True,
        )
    values = dict(
        line.split("=", 1)
        for line in s3_credentials_file().read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return S3Server(values["S3_ENDPOINT_URL"], values["S3_ACCESS_KEY"], values["S3_SECRET_KEY"], values["S3_REGION"])


def ensure_hosts_entry() -> None:
    """Make S3_HOSTNAME resolve to 127.0.0.1 on the host (the containers get a network alias)."""
    try:
        if socket.gethostbyname(S3_HOSTNAME).startswith("127."):
            return
    except OSError:
        pass
    log(f"adding '127.0.0.1 {S3_HOSTNAME}' to {HOSTS_FILE}")
    with HOSTS_FILE.open("a") as hosts:
        hosts.write(f"127.0.0.1 {S3_HOSTNAME} {HOSTS_MARK}\n")


def remove_hosts_entry() -> None:
    if not HOSTS_FILE.exists():
        return
    lines = HOSTS_FILE.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.rstrip().endswith(HOSTS_MARK)]
    if kept != lines:
        # Written in place: /etc/hosts is often a bind mount that cannot be replaced.
        with HOSTS_FILE.open("w") as hosts:
            hosts.writelines(kept)


def container_running(name: str) -> bool:
    result = docker("inspect", "-f", "{{.State.Running}}", name, check=False)
    return result.returncode == 0 and result.stdout.strip() == "true"


def container_exists(name: str) -> bool:
    return docker("inspect", name, check=False).returncode == 0


def write_s3_identities(path: Path, access_key: str, secret_key: str) -> None:
    # A second identity stands for "another account" in the tests of foreign buckets.
    config = {
        "identities": [
            {
                "name": "testbed",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            },
            {
                "name": "other-account",
                "credentials": [{"accessKey": "other-account", "secretKey": secret_key[::-1]}],
                "actions": [
                    "Read:other-account-*",
                    "List:other-account-*",
                    "Write:other-account-*",
                    "Admin:other-account-*",
                ],
            },
        ]
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


def s3_up() -> S3Server:
    """Start the SeaweedFS container unless it runs; write where and how to reach it."""
    if os.environ.get("S3_ENDPOINT_URL"):
        log(f"using the S3 server at {os.environ['S3_ENDPOINT_URL']} (S3_ENDPOINT_URL)")
        return load_s3()
    ensure_hosts_entry()
    state = s3_state_dir()
    creds = s3_credentials_file()
    if not creds.exists():
        # New credentials: a container left by another checkout or an older bed holds other
        # ones and mounts another directory, so it goes.
        if container_exists(S3_CONTAINER):
            docker("rm", "-f", S3_CONTAINER)
        state.mkdir(parents=True, exist_ok=True)
        access_key, secret_key = "testbed-" + secrets.token_hex(4), secrets.token_urlsafe(30)
        write_s3_identities(state / "s3.json", access_key, secret_key)
        creds.write_text(
            f"S3_ENDPOINT_URL=http://{S3_HOSTNAME}:{S3_PORT}\nS3_ACCESS_KEY={access_key}\n"
            f"S3_SECRET_KEY={secret_key}\nS3_REGION={S3_REGION}\n"
        )
        creds.chmod(0o600)
    server = load_s3()
    if not container_running(S3_CONTAINER):
        if container_exists(S3_CONTAINER):
            docker("start", S3_CONTAINER)
        else:
            (state / "data").mkdir(parents=True, exist_ok=True)
            (state / "logs").mkdir(parents=True, exist_ok=True)
            log("starting SeaweedFS")
            docker(
                "run", "-d", "--name", S3_CONTAINER,
                "--label", "bookwyrm-testbed=s3",
                "-p", f"127.0.0.1:{S3_PORT}:{S3_PORT}",  # one port outside and in: one URL for both
                "-v", f"{state}:/srv",
                "--entrypoint", "/usr/bin/weed",
                f"{IMAGE_PREFIX}/seaweedfs:latest",
                "-logdir=/srv/logs", "mini", "-dir=/srv/data",
                # advertise loopback inside the container, accept the instance's containers
                "-ip=127.0.0.1", "-ip.bind=0.0.0.0", "-master.telemetry=false",
                f"-s3.port={S3_PORT}", "-s3.config=/srv/s3.json",
                # like AWS: deleting a bucket that still holds objects is refused
                "-s3.allowDeleteBucketNotEmpty=false",
                "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-filer.localSocket=/tmp/filer.sock", "-s3.localSocket=/tmp/s3.sock",
            )  # fmt: skip
    wait_s3_ready(server)
    return server


def wait_s3_ready(server: S3Server, timeout: float = 90) -> None:
    client = server.client()
    probe = "testbed-probe"

    def ready():
        try:
            client.create_bucket(Bucket=probe)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        except client.exceptions.BucketAlreadyExists:
            pass
        client.put_object(Bucket=probe, Key="probe", Body=b"ok")
        return True

    wait_until(ready, timeout, f"the S3 server at {server.endpoint_url}")


def s3_kill() -> None:
    """SIGKILL the S3 server (fault tests)."""
    docker("kill", S3_CONTAINER, check=False)


def s3_start() -> S3Server:
    docker("start", S3_CONTAINER)
    server = load_s3()
    wait_s3_ready(server)
    return server


def s3_down() -> None:
    for name in ("s3", "s3-2"):  # the second server too, whichever this process uses
        if container_exists(f"{IMAGE_PREFIX}-{name}"):
            docker("rm", "-f", f"{IMAGE_PREFIX}-{name}")
        # weed runs as root in the container; the files are ours to remove as root too
        shutil.rmtree(TESTBED_DIR / name, ignore_errors=True)
        (TESTBED_DIR / f"{name}.env").unlink(missing_ok=True)
    remove_hosts_entry()


# --------------------------------------------------------------------------------------
# Stand-in BookWyrm instances
# --------------------------------------------------------------------------------------


@dataclass
class Instance:
    """One stand-in BookWyrm checkout: a directory with .env and docker-compose.yml."""

    directory: Path
    http_port: int
    project: str | None = None  # COMPOSE_PROJECT_NAME when it differs from the directory

    @property
    def name(self) -> str:
        return self.project or self.directory.name

    @property
    def url(self) -> str:
        return f"http://localhost:{self.http_port}/"

    @property
    def env_file(self) -> Path:
        return self.directory / ".env"

    @property
    def network(self) -> str:
        return f"{self.name}_default"

    def volume(self, kind: str) -> str:
        return f"{self.name}_{kind}_volume"

    def compose(self, *args, check=True, capture=True, timeout=600):
        env = dict(os.environ)
        env.pop("COMPOSE_PROJECT_NAME", None)
        if self.project:
            env["COMPOSE_PROJECT_NAME"] = self.project
        return run(
            ["docker", "compose", *args], cwd=self.directory, env=env, check=check, capture=capture, timeout=timeout
        )

    def manage(self, *args, service: str = "web"):
        """Run a management command in the running container (like `docker compose exec`)."""
        return self.compose("exec", "-T", service, "python", "manage.py", *args)

    def read_env(self) -> dict:
        values = {}
        for line in self.env_file.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.removeprefix("export ").strip()] = value.strip().strip("\"'")
        return values

    def set_env(self, **values) -> None:
        """Set keys in .env by hand (the tests' stand-in for what the role does)."""
        lines = self.env_file.read_text().splitlines()
        pending = dict(values)
        for index, line in enumerate(lines):
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith("#") and key in pending:
                lines[index] = f"{key}={pending.pop(key)}"
        lines.extend(f"{key}={value}" for key, value in pending.items())
        self.env_file.write_text("\n".join(lines) + "\n")

    def container_health(self, service: str = "web") -> str:
        result = self.compose("ps", "-q", service, check=False)
        cid = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
        if not cid:
            return "missing"
        state = docker(
            "inspect",
            "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
            cid,
            check=False,
        )
        return state.stdout.strip()

    def wait_healthy(self, timeout: float = 240) -> None:
        wait_until(lambda: self.container_health() == "healthy", timeout, f"{self.name}'s web container to be healthy")
        # Like upstream's, the stand-in's nginx looks "web" up only when it (re)loads: after a web
        # container was recreated by hand, reload it as an admin would.
        self.compose("exec", "-T", "nginx", "nginx", "-s", "reload", check=False)
        # wait until a recreated web is what answers; as a logged-in reader (a session cookie),
        # past nginx's cache of anonymous pages and its lock on filling that cache
        reader = {"Cookie": "sessionid=testbed-wait"}
        wait_until(lambda: http_get(self.url, headers=reader)[0] == 200, 60, f"{self.url} to answer 200")
        time.sleep(1.5)
        wait_until(lambda: http_get(self.url, headers=reader)[0] == 200, 60, f"{self.url} to answer 200")

    def attach_s3(self) -> None:
        """Put the S3 server on this instance's network under the endpoint's host name."""
        import rgw

        rgw.attach(self.network)
        if os.environ.get("S3_ENDPOINT_URL") or not container_running(S3_CONTAINER):
            return
        attached = docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", S3_CONTAINER).stdout
        if self.network not in json.loads(attached):
            docker("network", "connect", "--alias", S3_HOSTNAME, self.network, S3_CONTAINER)

    def detach_s3(self) -> None:
        import rgw

        rgw.detach(self.network)
        docker("network", "disconnect", "-f", self.network, S3_CONTAINER, check=False)

    def up(self) -> None:
        try:
            self.compose("up", "-d", "--no-build", timeout=900)
        except subprocess.CalledProcessError:
            # On a loaded machine web's startup (migrate ... collectstatic, to the bucket when on
            # S3) can outlast upstream's healthcheck window (25 x 3 s), and `up` fails on the
            # services that wait for it. As an admin would: once web is healthy, `up` again.
            wait_until(lambda: self.container_health() == "healthy", 300, f"{self.name}'s web container to be healthy")
            self.compose("up", "-d", "--no-build", timeout=900)
        self.attach_s3()
        self.wait_healthy()

    def down(self) -> None:
        self.detach_s3()
        if self.env_file.exists():
            self.compose("down", "-v", "--remove-orphans", "--timeout", "5", check=False)

    def page(self) -> str:
        """The page as a logged-in reader gets it: a session cookie makes the stand-in's nginx
        (like BookWyrm's) bypass its one-minute cache of anonymous pages."""
        status, _, body = http_get(self.url, headers={"Cookie": "sessionid=testbed-reader"})
        if status != 200:
            raise AssertionError(f"{self.url} answered {status}")
        return body.decode()


def instances_dir() -> Path:
    return TESTBED_DIR / "instances"


def create_instance(
    name: str = DEFAULT_INSTANCE, http_port: int = DEFAULT_HTTP_PORT, project: str | None = None
) -> Instance:
    """Lay out an instance directory from the template (kept as is when it exists)."""
    directory = instances_dir() / name
    instance = Instance(directory, http_port, project)
    if instance.env_file.exists():
        return instance
    # A project of this name left by another checkout would bring its old database volume,
    # whose password is not the one this new .env will hold.
    stale = Instance(directory, http_port, project)
    run(
        ["docker", "compose", "--project-name", stale.name, "down", "-v", "--remove-orphans", "--timeout", "5"],
        check=False,
        capture=True,
    )
    directory.mkdir(parents=True, exist_ok=True)
    for item in ("docker-compose.yml", "nginx", "anubis"):
        source = INSTANCE_TEMPLATE / item
        if source.is_dir():
            shutil.copytree(source, directory / item, dirs_exist_ok=True)
        else:
            shutil.copy2(source, directory / item)
    env = (INSTANCE_TEMPLATE / ".env.example").read_text()
    instance.env_file.write_text(env)
    instance.env_file.chmod(0o600)
    instance.set_env(
        SECRET_KEY=secrets.token_hex(24),
        DOMAIN="localhost",
        POSTGRES_PASSWORD=secrets.token_hex(12),
        REDIS_BROKER_PASSWORD=secrets.token_hex(12),
        REDIS_ACTIVITY_PASSWORD=secrets.token_hex(12),
        PORT=str(http_port),  # as BookWyrm: nginx's published port, and the port of localhost URLs
        TESTBED_HTTP_PORT=str(http_port),
    )
    (directory / ".testbed.json").write_text(json.dumps({"http_port": http_port, "project": project}))
    return instance


def load_instance(name: str = DEFAULT_INSTANCE) -> Instance:
    directory = instances_dir() / name
    meta = json.loads((directory / ".testbed.json").read_text())
    return Instance(directory, meta["http_port"], meta.get("project"))


def destroy_instance(name: str) -> None:
    directory = instances_dir() / name
    if (directory / ".testbed.json").exists():
        load_instance(name).down()
    shutil.rmtree(directory, ignore_errors=True)


def media_count(instance: Instance) -> int:
    result = docker(
        "run", "--rm", "-v", f"{instance.volume('media')}:/m:ro", "--entrypoint", "sh",
        f"{IMAGE_PREFIX}/web:latest", "-c", "find /m -type f | wc -l",
    )  # fmt: skip
    return int(result.stdout.strip())


def seed(instance: Instance, covers: int, avatars: int, previews: int) -> None:
    instance.manage("seed_media", "--covers", str(covers), "--avatars", str(avatars), "--previews", str(previews))


# --------------------------------------------------------------------------------------
# The whole bed
# --------------------------------------------------------------------------------------


def bed_up(seed_counts=(240, 60, 60), with_instance: bool = True) -> dict:
    """The S3 servers, the SSH target and (unless with_instance is false) the seeded default
    instance. `make test` starts none of the default instance: every suite makes its own, and an
    idle instance's health checks and workers would take CPU from the suites all along."""
    server = s3_up()
    import rgw

    rgw.up()
    ssh = ssh_target.up()
    summary = {
        "s3": {
            "endpoint_url": server.endpoint_url,
            "region": server.region,
            "credentials_file": str(s3_credentials_file()),
        },
        "ssh": ssh,
    }
    if with_instance:
        instance = create_instance()
        instance.up()
        if media_count(instance) == 0:
            log(f"seeding {sum(seed_counts)} media files")
            seed(instance, *seed_counts)
        summary["instance"] = {"directory": str(instance.directory), "project": instance.name, "url": instance.url}
    (TESTBED_DIR / "testbed.json").write_text(json.dumps(summary, indent=2))
    return summary


def bed_down() -> None:
    if instances_dir().exists():
        for directory in sorted(instances_dir().iterdir()):
            log(f"removing instance {directory.name}")
            destroy_instance(directory.name)
    # Leftovers of a run that lost its instance directory (a killed test, say).
    for line in docker("ps", "-aq", "--filter", "label=com.docker.compose.project.working_dir").stdout.split():
        workdir = docker(
            "inspect", "-f", '{{index .Config.Labels "com.docker.compose.project.working_dir"}}', line
        ).stdout.strip()
        if workdir.startswith(str(instances_dir())):
            docker("rm", "-f", "-v", line, check=False)
    import rgw

    rgw.down()
    s3_down()
    ssh_target.down()
    (TESTBED_DIR / "testbed.json").unlink(missing_ok=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="testbed", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the S3 servers, the SSH target and the seeded default instance")
    up.add_argument("--no-instance", action="store_true", help="all but the default instance (`make test`)")
    sub.add_parser("down", help="remove every instance, the S3 server and its data")
    sub.add_parser("s3-up", help="start the S3 server only")
    sub.add_parser("s3-kill", help="SIGKILL the S3 server")
    sub.add_parser("s3-start", help="start the killed S3 server again")
    create = sub.add_parser("instance", help="create and start an instance")
    create.add_argument("name")
    create.add_argument("--port", type=int, required=True)
    create.add_argument("--project")
    create.add_argument("--seed", type=int, nargs=3, metavar=("COVERS", "AVATARS", "PREVIEWS"))
    destroy = sub.add_parser("destroy", help="remove an instance with its volumes")
    destroy.add_argument("name")
    args = parser.parse_args(argv)

    if args.command == "up":
        summary = bed_up(with_instance=not args.no_instance)
        print(json.dumps(summary, indent=2))
    elif args.command == "down":
        bed_down()
    elif args.command == "s3-up":
        s3_up()
    elif args.command == "s3-kill":
        s3_kill()
    elif args.command == "s3-start":
        s3_start()
    elif args.command == "instance":
        s3_up()
        instance = create_instance(args.name, args.port, args.project)
        instance.up()
        if args.seed and media_count(instance) == 0:
            seed(instance, *args.seed)
        print(json.dumps({"directory": str(instance.directory), "project": instance.name, "url": instance.url}))
    elif args.command == "destroy":
        destroy_instance(args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
