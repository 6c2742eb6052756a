"""What the reliability tests share: playbook runs with fault injection, instances, the bucket,
a lossy TCP proxy, the secret scan and the rows of docs/reliability.md."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bookwyrm_testbed as tb
import ssh_target
import yaml

REPO_DIR = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ART_DIR = tb.TESTBED_DIR / "reliability"
VENV_BIN = Path(sys.executable).parent
PLAYBOOK = REPO_DIR / "playbooks" / "migrate.yml"
S3_KILL_CMD = ["docker", "kill", tb.S3_CONTAINER]

# Every secret key any run was given: the scan looks for each of them.
SECRETS: set[str] = set()


# ----------------------------------------------------------------------------------------
# Playbook runs
# ----------------------------------------------------------------------------------------


@dataclass
class PlayResult:
    rc: int
    output: str
    events: list
    seconds: float
    directory: Path
    interrupted: bool = False
    sigints: int = 0

    def failures(self, host=None):
        return [e for e in self.events if e["event"] == "failed" and not e["ignored"] and host in (None, e["host"])]

    def failure(self, host=None):
        found = self.failures(host)
        return found[0] if found else None

    def unreachable(self, host=None):
        return [e for e in self.events if e["event"] == "unreachable" and host in (None, e["host"])]

    def changed_tasks(self, host=None):
        return [e["task"] for e in self.events if e["event"] == "changed" and host in (None, e["host"])]

    def started(self, text):
        return any(e["event"] == "task_start" and text in e["task"] for e in self.events)


_run_counter = {"n": 0}


def run_play(
    case_dir: Path,
    hosts: dict,
    *,
    playbook: Path = PLAYBOOK,
    verbosity: int = 3,
    diff: bool = True,
    secrets: dict | None = None,
    fault_at: str | None = None,
    fault_cmd: list | None = None,
    interrupt_at: str | None = None,
    interrupt_delay: float = 0.0,
    extra_args: list | None = None,
    timeout: float = 600,
) -> PlayResult:
    """Run ``playbook`` on ``hosts`` (name -> vars) with every output kept under case_dir.

    secrets: host -> (access key, secret key); the default is the test bed's pair. They reach
    ansible through the environment, never through a file.
    """
    server = tb.load_s3()
    _run_counter["n"] += 1
    run_dir = case_dir / f"run{_run_counter['n']:02d}"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(REPO_DIR / ".build" / "collections"),
        ANSIBLE_CONFIG=str(REPO_DIR / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOG_PATH=str(run_dir / "ansible.log"),
        ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="reliability_events",
        ANSIBLE_FORKS="20",
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_path_dir()),
        RELIABILITY_EVENTS=str(run_dir / "events.jsonl"),
        BOOKWYRM_S3_ACCESS_KEY=server.access_key,
        BOOKWYRM_S3_SECRET_KEY=server.secret_key,
        DO_NOT_TRACK="1",
    )
    SECRETS.add(server.secret_key)
    if fault_at:
        env["RELIABILITY_FAULT_AT"] = fault_at
        env["RELIABILITY_FAULT_CMD"] = json.dumps(fault_cmd or S3_KILL_CMD)
    inventory_hosts = {}
    for host, host_vars in hosts.items():
        merged = dict(host_vars)
        if secrets and host in secrets:
            access, secret = secrets[host]
            slot = re.sub(r"\W", "_", host).upper()
            env[f"REL_ACCESS_{slot}"], env[f"REL_SECRET_{slot}"] = access, secret
            SECRETS.add(secret)
            merged["bookwyrm_s3_access_key"] = f"{{{{ lookup('ansible.builtin.env', 'REL_ACCESS_{slot}') }}}}"
            merged["bookwyrm_s3_secret_key"] = f"{{{{ lookup('ansible.builtin.env', 'REL_SECRET_{slot}') }}}}"
        inventory_hosts[host] = merged
    inventory = run_dir / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"bookwyrm": {"hosts": inventory_hosts}}}}))
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if diff:
        cmd.append("--diff")
    cmd += extra_args or []
    (run_dir / "command.txt").write_text(" ".join(cmd) + "\n")
    started = time.monotonic()
    # A session of its own: SIGINT goes to the whole group, as Ctrl-C in a terminal does.
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    lines: list[str] = []
    interrupted = threading.Event()

    def reader():
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if interrupt_at and not interrupted.is_set() and line.startswith("TASK [") and interrupt_at in line:
                interrupted.set()
                threading.Timer(interrupt_delay, _sigint, args=(proc,)).start()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    sigints = 0
    try:
        if interrupt_at:
            # ansible-core handles the first Ctrl-C, but may then hang on a worker the same
            # SIGINT killed; an admin presses Ctrl-C again, and so does this.
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if interrupted.wait(0.2) and sigints == 0:
                    sigints = 1
                    fired = time.monotonic()
                if sigints == 1 and time.monotonic() - fired > interrupt_delay + 8:
                    _sigint(proc)
                    sigints = 2
        proc.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        lines.append(f"\n[reliability] killed after {timeout}s\n")
    thread.join(timeout=10)
    if interrupt_at:
        reap_orphaned_become()
    seconds = time.monotonic() - started
    output = "".join(lines)
    (run_dir / "output.txt").write_text(output)
    events_file = run_dir / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
    return PlayResult(proc.returncode, output, events, seconds, run_dir, interrupted.is_set(), sigints)


def _sigint(proc):
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        pass


def control_path_dir() -> Path:
    """The suite's own directory of SSH control sockets (short: a socket path has ~100 bytes),
    so its connections are its own and not shared with other suites running beside it."""
    if "dir" not in _control_path:
        _control_path["dir"] = Path(tempfile.mkdtemp(prefix="bwrel-cp-"))
    return _control_path["dir"]


_control_path: dict = {}


def kill_ssh_sessions() -> int:
    """SIGKILL this suite's SSH connections (the control masters Ansible holds and their
    clients), as a dropped link does; other suites' connections to the same sshd stay up."""
    found = subprocess.run(
        ["pgrep", "-f", str(control_path_dir())], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in found:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(found)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line) of the processes on this machine now."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # gone meanwhile
            continue
        found[int(pid)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), cmdline)
    return found


def reap_orphaned_become(grace: float = 2.0) -> int:
    """End what a killed connection left running under sudo. sudo before 1.9.16 (Debian 12 has
    1.9.13) with `use_pty` does not hang up the command when the SSH connection dies (upstream
    sudo issue 367), and its relay can keep polling the dead terminal. This suite kills
    connections on purpose, on this machine's sshd (the bed's SSH target); what it orphans would
    take CPU from every later test. An orphan is a become (``BECOME-SUCCESS-`` in its command
    line) reparented to init: a live one always has its shell. It and what runs under it get
    SIGHUP first, as sudo 1.9.16 and later do, then SIGKILL. The media_sync job is not among
    them: async_wrapper detached it into a session of its own."""
    processes = _processes()
    orphans = [pid for pid, (ppid, cmdline) in processes.items() if ppid == 1 and "BECOME-SUCCESS-" in cmdline]
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cmdline) in processes.items():
        children.setdefault(ppid, []).append(pid)
    pids, todo = [], list(orphans)
    while todo:  # the orphans and what runs under them (sudo's monitor, the command)
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    for sig in (signal.SIGHUP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
            time.sleep(0.1)
    return len(orphans)


def host_vars(instance: tb.Instance, bucket: str, case_dir: Path, **overrides) -> dict:
    """The inventory an admin would write for a test-bed instance: over SSH as the sudo user
    of the bed's SSH target, with become, and the host's own python3 found by discovery."""
    server = tb.load_s3()
    values = {
        **ssh_target.connection_vars(),
        "bookwyrm_s3_instance_dir": str(instance.directory),
        "bookwyrm_s3_provider": "seaweedfs",
        "bookwyrm_s3_bucket": bucket,
        "bookwyrm_s3_endpoint_url": server.endpoint_url,
        "bookwyrm_s3_region": server.region,
        "bookwyrm_s3_instance_url": instance.url,
        "bookwyrm_s3_cors_extra_origins": [instance.url.rstrip("/")],
        "bookwyrm_s3_report_path": str(case_dir / f"report-{instance.directory.name}.json"),
        "bookwyrm_s3_health_timeout": 90,
        # The main lane's scenarios reach the same SSH host at the same time: a venv of this
        # lane's own, so that neither sees the other's half-made one.
        "bookwyrm_s3_python_venv": "/opt/bookwyrm-s3/venv-reliability",
    }
    values.update(overrides)
    return values


def report(vars_: dict) -> dict:
    path = Path(vars_["bookwyrm_s3_report_path"])
    return json.loads(path.read_text()) if path.exists() else {}


# ----------------------------------------------------------------------------------------
# Instances, volumes and the bucket
# ----------------------------------------------------------------------------------------


def volume_dir(instance: tb.Instance, kind: str = "media") -> Path:
    out = tb.docker("volume", "inspect", "-f", "{{.Mountpoint}}", instance.volume(kind)).stdout.strip()
    return Path(out)


def snapshot_tree(root: Path) -> dict:
    """relpath -> (size, md5) of every regular file (symlinks are recorded as links)."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                result[rel] = ("link", os.readlink(path))
            else:
                result[rel] = (path.stat().st_size, hashlib.md5(path.read_bytes()).hexdigest())  # noqa: S324
    return result


def lost_files(before: dict, after: dict) -> list:
    return sorted(rel for rel, value in before.items() if after.get(rel) != value)


def bucket_objects(bucket: str, prefix: str = "") -> dict:
    """key -> dict(size, etag, modified) read with boto3."""
    client = tb.load_s3().client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", ()):
            found[obj["Key"]] = {"size": obj["Size"], "etag": obj["ETag"].strip('"'), "modified": obj["LastModified"]}
    return found


def bucket_exists(bucket: str) -> bool:
    client = tb.load_s3().client()
    try:
        client.head_bucket(Bucket=bucket)
        return True
    except Exception:  # noqa: BLE001 - missing or forbidden: not ours to use
        return False


def drop_bucket(bucket: str) -> None:
    client = tb.load_s3().client()
    if not bucket_exists(bucket):
        return
    keys = list(bucket_objects(bucket))
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=bucket)


def missing_in_bucket(tree: dict, bucket: str) -> list:
    """Local regular files (links left out) with no object of the same size under images/."""
    objects = bucket_objects(bucket, "images/")
    return sorted(
        rel
        for rel, value in tree.items()
        if value[0] != "link" and objects.get("images/" + rel, {}).get("size") != value[0]
    )


def web_env(instance: tb.Instance) -> list[dict]:
    """The storage settings each running web container was created with."""
    ids = instance.compose("ps", "-q", "web").stdout.split()
    envs = []
    for cid in ids:
        raw = json.loads(tb.docker("inspect", "-f", "{{json .Config.Env}}", cid).stdout)
        values = dict(item.split("=", 1) for item in raw)
        envs.append({k: values.get(k) for k in ("USE_S3", "AWS_STORAGE_BUCKET_NAME")})
    return envs


def serves(instance: tb.Instance) -> tuple[int, str]:
    status, _, body = tb.http_get(instance.url, timeout=10)
    return status, body.decode("utf-8", "replace")


def page_storage(instance: tb.Instance) -> str:
    """'local' when the page's stylesheet is served by the instance, 'bucket' when from S3."""
    status, body = serves(instance)
    if status != 200:
        return f"HTTP {status}"
    return "bucket" if tb.S3_HOSTNAME in body else "local"


def reset_instance(instance: tb.Instance, env_bytes: bytes) -> None:
    """Back to the state before any migration: the original .env, containers made from it."""
    instance.env_file.write_bytes(env_bytes)
    instance.env_file.chmod(0o600)
    for leftover in instance.directory.glob(".env.*"):
        leftover.unlink()
    (instance.directory / ".bookwyrm-s3-progress.json").unlink(missing_ok=True)
    instance.compose("up", "-d", "--no-build", "--remove-orphans", "--scale", "web=1", timeout=300)
    instance.attach_s3()
    instance.wait_healthy()


def dump_logs(instance: tb.Instance, case_dir: Path) -> None:
    result = instance.compose("logs", "--no-color", "--timestamps", check=False)
    (case_dir / f"compose-logs-{instance.directory.name}.txt").write_text(result.stdout + result.stderr)


def write_files(root: Path, count: int, prefix: str = "covers/bulk", seed: int = 1) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not crypto
    directory = root / prefix
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (directory / f"bulk-{index:05d}.jpg").write_bytes(rng.randbytes(2000 + rng.randrange(12000)))


# ----------------------------------------------------------------------------------------
# Secrets
# ----------------------------------------------------------------------------------------


def secret_forms(secret: str) -> list[bytes]:
    """The secret as text, URL-quoted, and inside base64 at each of the 3 alignments."""
    forms = {secret.encode(), urllib.parse.quote(secret, safe="").encode()}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + secret.encode())
        forms.add(encoded[4 if pad else 0 : -4])  # drop the chars that depend on neighbours
    return [form for form in forms if len(form) >= 12]


def allowed_secret_file(path: Path, instance_dirs: list[Path]) -> bool:
    """.env and its backups (.env.before-s3, .env.PID.DATE~) in an instance directory."""
    return path.parent in instance_dirs and (path.name == ".env" or path.name.startswith(".env."))


def scan_secrets(paths: list[Path], instance_dirs: list[Path]) -> list[str]:
    """Where a secret key appears outside .env and its backups: 'path: which'."""
    forms = [(secret[:4] + "…", form) for secret in SECRETS for form in secret_forms(secret)]
    hits = []
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
        for path in files:
            if allowed_secret_file(path, instance_dirs):
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for label, form in forms:
                if form in data:
                    hits.append(f"{path}: {label}")
                    break
    return hits


def env_file_modes(instance_dirs: list[Path]) -> dict:
    """Mode of .env and of each backup of it."""
    return {
        str(path): oct(path.stat().st_mode & 0o777)
        for directory in instance_dirs
        for path in directory.glob(".env*")
        if path.is_file() and path.name != ".env.example"
    }


# ----------------------------------------------------------------------------------------
# A slow, lossy link: TCP proxy on loopback
# ----------------------------------------------------------------------------------------


@dataclass
class ProxyStats:
    connections: int = 0
    refused: int = 0
    cut: int = 0
    rejected_region: int = 0
    bytes: int = 0


@dataclass
class LossyProxy:
    """Forwards 127.0.0.1:port to the S3 server, adding latency, closing some connections at
    once and cutting others in the middle of a transfer. With ``region`` it answers requests
    signed for another region with 400 AuthorizationHeaderMalformed and, unlike AWS, names no
    region to switch to (botocore would otherwise redirect on its own)."""

    target_port: int = tb.S3_PORT
    latency: float = 0.0
    refuse_rate: float = 0.0
    cut_rate: float = 0.0
    region: str | None = None
    seed: int = 7
    stats: ProxyStats = field(default_factory=ProxyStats)
    port: int = 0

    def __post_init__(self):
        self._rng = random.Random(self.seed)  # noqa: S311 - fault pattern, not crypto
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _main(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, reader, writer):
        self.stats.connections += 1
        if self._rng.random() < self.refuse_rate:
            self.stats.refused += 1
            writer.transport.abort()
            return
        head = b""
        if self.region:
            while b"\r\n\r\n" not in head:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                head += chunk
            match = re.search(rb"Credential=[^/]+/\d+/([^/]+)/s3/", head)
            if match and match.group(1).decode() != self.region:
                self.stats.rejected_region += 1
                body = (
                    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AuthorizationHeaderMalformed</Code>"
                    f"<Message>The authorization header is malformed; the region '{match.group(1).decode()}' is "
                    "not valid for this endpoint</Message></Error>"
                ).encode()
                writer.write(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                writer.close()
                return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        cut_after = self._rng.randint(200, 60000) if self._rng.random() < self.cut_rate else None
        state = {"bytes": 0, "cut": False}
        if head:
            up_writer.write(head)

        async def pipe(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    if self.latency:
                        await asyncio.sleep(self.latency)
                    state["bytes"] += len(data)
                    self.stats.bytes += len(data)
                    if cut_after is not None and state["bytes"] > cut_after and not state["cut"]:
                        state["cut"] = True
                        self.stats.cut += 1
                        writer.transport.abort()
                        up_writer.transport.abort()
                        return
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                if not dst.is_closing():
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


# ----------------------------------------------------------------------------------------
# The rows of docs/reliability.md
# ----------------------------------------------------------------------------------------


@dataclass
class Row:
    group: str
    case: str
    done: str = ""
    observed: str = ""
    files_lost: str = "n/a"
    secret_found: str = "not scanned"  # noqa: S105 - a column, not a password
    seconds: float = 0.0
    result: str = "?"


def render(rows: list[Row], started: float, total: float) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ").strip()

    failed = [r for r in rows if r.result != "passed"]
    out = [
        "# Reliability: faults, bad input and secrets",
        "",
        "Generated by `make reliability` (tests/reliability, issue 5) from the run of "
        + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
        + f"; {len(rows)} cases, {len(rows) - len(failed)} passed, {len(failed)} failed, {total:.0f} s."
        " Do not edit by hand: the next run overwrites it.",
        "",
        "Every playbook run behind these rows ran at `-vvv --diff`; its output, ansible log, events,"
        " reports, the instance's files and compose logs were scanned for the secret key"
        " (as text, URL-quoted and base64). *Files lost*: media files of the volume missing or"
        " changed afterwards, plus local files missing from the bucket once the run finished.",
        "",
        "| # | Group | Case | What was done | What was observed | Files lost | Secret found | Result | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, row in enumerate(rows, 1):
        out.append(
            f"| {index} | {cell(row.group)} | {cell(row.case)} | {cell(row.done)} | {cell(row.observed)} | "
            f"{cell(row.files_lost)} | {cell(row.secret_found)} | {cell(row.result)} | {row.seconds:.0f} |"
        )
    return "\n".join(out) + "\n"


def clean_art_dir() -> None:
    shutil.rmtree(ART_DIR, ignore_errors=True)
    ART_DIR.mkdir(parents=True, exist_ok=True)


@contextmanager
def when_bucket_holds(bucket: str, count: int, action):
    """While the block runs, call ``action()`` once ``bucket`` holds ``count`` objects under
    images/ (a fault in the middle of a copy). Yields a dict: empty if the block ended first,
    else what ``action`` returned plus ``objects``, the count seen."""
    client = tb.load_s3().client()
    done: dict = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                seen = client.list_objects_v2(Bucket=bucket, Prefix="images/", MaxKeys=1000).get("KeyCount", 0)
            except Exception:  # noqa: BLE001 - bucket not there yet
                seen = 0
            if seen >= count:
                done.update(action())
                done["objects"] = seen
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield done
    finally:
        stop.set()
        watcher.join()
