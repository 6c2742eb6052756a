"""`make bench`: media_sync against aws s3 sync, rclone, community.aws.s3_sync and a boto3 loop.

Runs on the test bed's S3 server (``make testbed``), side by side on the same generated
trees, one fresh bucket per tool. Records wall time, files/s, MB/s and the peak RSS of each
tool's whole process tree (psutil, polled every 50 ms), prints a table and writes
docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.png.

Run with the bench venv's python (bench/setup.sh makes it); see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "testbed"))
import bookwyrm_testbed as tb  # noqa: E402

WORK = REPO / ".build" / "bench"
BENCH_VENV = REPO / ".build" / "bench-venv"
VENV = REPO / ".venv"
DOCS = REPO / "docs"
MB = 1024 * 1024


# ---- trees ----------------------------------------------------------------------------------


def make_tree(root: Path, count: int, lo: int, hi: int, seed: int, start: int = 0) -> None:
    """count files of lo..hi bytes, laid out like BookWyrm's media (covers, avatars, previews)."""
    rnd = random.Random(seed)  # noqa: S311 - test data, not secrets
    for i in range(start, start + count):
        sub = ("covers", "avatars", "previews/covers")[i % 3]
        d = root / sub / f"{i // 300:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"img-{i:06d}.jpg").write_bytes(rnd.randbytes(rnd.randint(lo, hi)))


def tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def ensure_tree(name: str, count: int, lo: int, hi: int, seed: int) -> Path:
    root = WORK / "trees" / name
    stamp = root.parent / (name + ".complete")
    want = f"{count} {lo} {hi} {seed}"
    if stamp.exists() and stamp.read_text() == want:
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"generating {name}: {count} files of {lo}-{hi} bytes", flush=True)
    make_tree(root, count, lo, hi, seed)
    stamp.write_text(want)
    return root


def ensure_plus_tree(base: Path, name: str, extra: int, lo: int, hi: int) -> Path:
    """base plus `extra` new files (hard links: no second copy of the data)."""
    root = WORK / "trees" / name
    stamp = root.parent / (name + ".complete")
    if stamp.exists() and stamp.read_text() == base.name:
        return root
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["cp", "-al", str(base), str(root)], check=True)
    make_tree(root / "new", extra, lo, hi, seed=99, start=900000)
    stamp.write_text(base.name)
    return root


# ---- measuring ------------------------------------------------------------------------------


def run_measured(cmd, env=None, cwd=None, module_marker=None):
    """Run cmd; return (seconds, peak RSS MB of its process tree, peak RSS MB of the module, output)."""
    peak = {"tree": 0, "module": 0}
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    done = threading.Event()

    def module_processes():
        """The module's processes. Under async (media_sync's progress) the job is detached from
        ansible-playbook's tree, so it is found by its command line."""
        found = []
        for p in psutil.process_iter(["cmdline"]):
            if any(module_marker in part for part in p.info["cmdline"] or ()):
                found.append(p)
        return found

    def poll():
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            total = module = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            pids = {p.pid for p in procs}
            if module_marker:
                for p in module_processes():
                    if p.pid not in pids:
                        procs.append(p)
                    try:
                        # PSS: forked workers share most pages with their parent; RSS would count
                        # them once per process.
                        module += p.memory_full_info().pss
                    except (psutil.Error, AttributeError):
                        pass
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak["tree"] = max(peak["tree"], total)
            peak["module"] = max(peak["module"], module)
            done.wait(0.1)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    output = proc.communicate()[0]
    seconds = time.monotonic() - started
    done.set()
    watcher.join()
    if proc.returncode != 0:
        command = " ".join(map(str, cmd[:3]))
        raise RuntimeError(f"{command} failed (rc {proc.returncode}):\n{output[-4000:]}")
    return seconds, peak["tree"] / MB, peak["module"] / MB, output


# ---- tools ----------------------------------------------------------------------------------


class Bed:
    def __init__(self):
        self.refresh()

    def refresh(self):
        self.s3 = tb.load_s3()
        self.client = self.s3.client()

    def new_bucket(self, tool):
        slug = "".join(c if c.isalnum() else "-" for c in tool.lower()).strip("-")
        name = "bench-{}-{}".format(slug[:24].strip("-"), uuid.uuid4().hex[:6])
        self.client.create_bucket(Bucket=name)
        return name

    def drop_bucket(self, name):
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                self.client.delete_objects(Bucket=name, Delete={"Objects": objs, "Quiet": True})
        self.client.delete_bucket(Bucket=name)

    def count(self, name):
        paginator = self.client.get_paginator("list_objects_v2")
        return sum(page.get("KeyCount", 0) for page in paginator.paginate(Bucket=name, Prefix="images/"))

    def aws_env(self):
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=self.s3.access_key,
            AWS_SECRET_ACCESS_KEY=self.s3.secret_key,
            AWS_DEFAULT_REGION=self.s3.region,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def ansible_env(self):
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_DEPRECATION_WARNINGS="false",
            DO_NOT_TRACK="1",
        )
        return env


def playbook(bed, task_yaml, stats_file):
    s3 = bed.s3
    common = "".join(
        f"        {key}: {value}\n"
        for key, value in (
            ("endpoint_url", s3.endpoint_url),
            ("access_key", s3.access_key),
            ("secret_key", s3.secret_key),
            ("region", s3.region),
        )
    )
    text = (
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        + task_yaml.replace("{{common}}\n", common)
        + "      register: out\n"
        + "    - ansible.builtin.copy:\n"
        + '        content: "{{ out.stats | default({}) | to_json }}"\n'
        + f"        dest: {stats_file}\n"
    )
    path = WORK / "work" / (f"play-{uuid.uuid4().hex[:6]}.yml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def run_playbook(bed, task_yaml, marker):
    stats_file = WORK / "work" / (f"stats-{uuid.uuid4().hex[:6]}.json")
    play = playbook(bed, task_yaml, stats_file)
    cmd = [
        str(VENV / "bin" / "ansible-playbook"),
        "-i",
        "localhost,",
        "-e",
        "ansible_python_interpreter=%s" % (VENV / "bin" / "python"),
        str(play),
    ]
    try:
        seconds, rss, module_rss, output = run_measured(cmd, env=bed.ansible_env(), module_marker=marker)
    finally:
        play.unlink()
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    stats_file.unlink(missing_ok=True)
    progress = [line for line in output.splitlines() if "media_sync:" in line]
    return seconds, rss, module_rss, stats, progress


def tool_media_sync(bed, tree, bucket):
    task = (
        f"    - bookwyrm.s3.media_sync:\n        path: {tree}\n        bucket: {bucket}\n        prefix: images\n"
        "        addressing_style: path\n{{common}}\n"
    )
    seconds, rss, module_rss, stats, progress = run_playbook(bed, task, "AnsiballZ_media_sync")
    return dict(
        seconds=seconds,
        peak_rss_mb=rss,
        module_rss_mb=module_rss,
        engine_seconds=stats.get("seconds"),
        progress_sample=progress[:3],
    )


def tool_s3_sync(bed, tree, bucket):
    task = (
        f"    - community.aws.s3_sync:\n        file_root: {tree}\n        bucket: {bucket}\n"
        "        key_prefix: images\n        mode: push\n{{common}}\n"
    )
    seconds, rss, module_rss, _stats, _progress = run_playbook(bed, task, "AnsiballZ_s3_sync")
    return dict(seconds=seconds, peak_rss_mb=rss, module_rss_mb=module_rss)


def tool_aws(bed, tree, bucket):
    cmd = [
        str(BENCH_VENV / "bin" / "aws"),
        "s3",
        "sync",
        str(tree),
        f"s3://{bucket}/images",
        "--endpoint-url",
        bed.s3.endpoint_url,
        "--only-show-errors",
    ]
    seconds, rss, _m, _out = run_measured(cmd, env=bed.aws_env())
    return dict(seconds=seconds, peak_rss_mb=rss)


def rclone_env(bed):
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)  # rclone refuses a bundle it cannot use on plain http
    env.update(
        RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Other",
        RCLONE_CONFIG_BENCH_ENDPOINT=bed.s3.endpoint_url,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=bed.s3.access_key,
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=bed.s3.secret_key,
        RCLONE_CONFIG_BENCH_REGION=bed.s3.region,
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true",
        RCLONE_CONFIG=str(WORK / "work" / "rclone.conf"),  # none: everything comes from the env
    )
    return env


def tool_rclone(extra):
    def run(bed, tree, bucket):
        cmd = ["rclone", "copy", "-q", *extra, str(tree), f"bench:{bucket}/images"]
        seconds, rss, _m, _out = run_measured(cmd, env=rclone_env(bed))
        return dict(seconds=seconds, peak_rss_mb=rss)

    return run


VERSIONS = "import boto3, botocore; print(boto3.__version__, botocore.__version__)"

BOTO3_LOOP = r"""
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
root, bucket, endpoint = sys.argv[1:4]
c = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["AWS_DEFAULT_REGION"],
                 config=Config(s3={"addressing_style": "path"}, max_pool_connections=20,
                               request_checksum_calculation="when_required",
                               response_checksum_validation="when_required"))
def files():
    for d, _, names in os.walk(root):
        for n in names:
            yield os.path.join(d, n)
def put(path):
    with open(path, "rb") as body:
        c.put_object(Bucket=bucket, Key="images/" + os.path.relpath(path, root), Body=body)
with ThreadPoolExecutor(16) as pool:
    for _ in pool.map(put, files()):
        pass
"""


def tool_boto3(bed, tree, bucket):
    cmd = [str(BENCH_VENV / "bin" / "python"), "-c", BOTO3_LOOP, str(tree), bucket, bed.s3.endpoint_url]
    seconds, rss, _m, _out = run_measured(cmd, env=bed.aws_env())
    return dict(seconds=seconds, peak_rss_mb=rss)


TOOLS = {
    "media_sync": tool_media_sync,
    "aws s3 sync": tool_aws,
    "rclone --transfers 16 --checkers 16": tool_rclone(["--transfers", "16", "--checkers", "16"]),
    "rclone (defaults)": tool_rclone([]),
    "community.aws.s3_sync": tool_s3_sync,
    "boto3 put_object 16 threads": tool_boto3,
}
# Which scenarios each tool runs (a plain PUT loop cannot resync).
RESYNC_TOOLS = (
    "media_sync",
    "aws s3 sync",
    "rclone --transfers 16 --checkers 16",
    "rclone (defaults)",
    "community.aws.s3_sync",
)
BIG_TOOLS = ("media_sync", "aws s3 sync", "rclone --transfers 16 --checkers 16")


# ---- the run --------------------------------------------------------------------------------


def record(results, tool, scenario, tree_info, out, expect=None, bed=None, bucket=None):
    files, size = tree_info
    row = dict(tool=tool, scenario=scenario, files=files, bytes=size)
    row.update(out)
    row["seconds"] = round(row["seconds"], 2)
    row["files_per_second"] = round(files / row["seconds"], 1) if files else None
    row["mb_per_second"] = round(size / MB / row["seconds"], 2) if size else None
    for key in ("peak_rss_mb", "module_rss_mb"):
        if key in row:
            row[key] = round(row[key], 1)
    if expect is not None and bed is not None:
        row["objects_after"] = bed.count(bucket)
        row["complete"] = row["objects_after"] == expect
    results.append(row)
    extra = ""
    if row.get("engine_seconds") is not None:
        extra = " (engine {:.2f} s)".format(row["engine_seconds"])
    print(
        f"  {tool:38} {scenario:16} {row['seconds']:8.2f} s{extra}  {row['files_per_second']!s:>7} files/s"
        f"  {row['peak_rss_mb']:6.1f} MB tree RSS",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10000, help="files in the main tree (20-80 KB each)")
    parser.add_argument("--big", type=int, default=100000, help="files in the big tree (1-4 KB each); 0 skips it")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of the tools")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    parser.add_argument("--only", choices=["all", "small", "big"], default="all", help="which trees to run")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of docs/benchmarks.json that this run does not redo (a partial rerun)",
    )
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]

    bed = Bed()
    small = ensure_tree(f"t{args.small}", args.small, 20 * 1024, 80 * 1024, seed=1)
    extra = max(1, args.small // 100)
    plus = ensure_plus_tree(small, f"t{args.small}-plus1pct", extra, 20 * 1024, 80 * 1024)
    small_info = tree_size(small)
    new_info = tree_size(plus / "new")

    results = []
    started = time.time()
    failures = []

    def scenario_chain(tool, tree, info, steps):
        """Run one tool's scenarios on a fresh bucket. A failure (the shared test bed's server
        restarted under us, say) is retried once from the start; a second one is noted and the
        bench goes on."""
        for attempt in (1, 2):
            bed.refresh()  # the test bed may have been restarted meanwhile
            tb.wait_s3_ready(bed.s3, timeout=120)
            bucket = bed.new_bucket(tool)
            rows = []
            try:
                print(f"{tool}, {info[0]} files:", flush=True)
                for scenario, step_tree, step_info, expect in steps:
                    out = TOOLS[tool](bed, step_tree, bucket)
                    record(rows, tool, scenario, step_info, out, expect, bed, bucket)
                results.extend(rows)
                return
            except Exception as exc:  # noqa: BLE001 - reported in the table and the doc
                lines = str(exc).splitlines() or [""]
                detail = next((line.strip() for line in lines if "msg" in line), "")
                reason = f"{tool} (attempt {attempt}): {lines[0][:200]} {detail[:300]}".strip()
                failures.append(reason)
                print(f"  FAILED: {reason}", flush=True)
            finally:
                try:
                    tb.wait_s3_ready(bed.s3, timeout=120)
                    bed.drop_bucket(bucket)
                except Exception as exc:  # noqa: BLE001 - a leftover bucket is harmless
                    print(f"  (bucket {bucket} not removed: {exc})", flush=True)
                (WORK / "results-partial.json").write_text(json.dumps(results, indent=1))

    for tool in tools if args.only in ("all", "small") else ():
        steps = [("first copy", small, small_info, args.small)]
        if tool in RESYNC_TOOLS:
            steps += [
                ("no-op resync", small, small_info, args.small),
                ("1% new", plus, new_info, args.small + extra),
            ]
        scenario_chain(tool, small, small_info, steps)

    if args.big and args.only in ("all", "big"):
        big = ensure_tree(f"t{args.big}-small", args.big, 1024, 4 * 1024, seed=2)
        big_info = tree_size(big)
        for tool in tools:
            if tool in BIG_TOOLS:
                steps = [("100k first copy", big, big_info, args.big), ("100k no-op", big, big_info, args.big)]
                scenario_chain(tool, big, big_info, steps)

    meta = machine_info(time.time() - started)
    meta["failures"] = failures or "none"
    if args.merge and (DOCS / "benchmarks.json").exists():
        previous = json.loads((DOCS / "benchmarks.json").read_text())
        redone = {(r["tool"], r["scenario"]) for r in results}
        kept = [r for r in previous["results"] if (r["tool"], r["scenario"]) not in redone]
        for row in results:
            row["rerun"] = True
        results = kept + results
        meta["merged_with"] = previous["machine"].get("date")
        meta["earlier_failures"] = previous["machine"].get("failures")
    print_table(results)
    if not args.no_docs:
        import report

        report.write(results, meta, DOCS)
        print("wrote docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks.png")


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine_info(total_seconds):
    import boto3
    import botocore

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return dict(
        date=time.strftime("%Y-%m-%d %H:%M %Z"),
        cpu=cpu,
        cores=os.cpu_count(),
        memory_gb=round(psutil.virtual_memory().total / 1024**3, 1),
        kernel=platform.release(),
        python=platform.python_version(),
        s3_server=version(["docker", "exec", tb.S3_CONTAINER, "weed", "version"]),
        ansible=version([str(VENV / "bin" / "ansible"), "--version"]),
        aws_cli=version([str(BENCH_VENV / "bin" / "aws"), "--version"]),
        rclone=version(["rclone", "version"]),
        boto3_bench=f"{boto3.__version__} / botocore {botocore.__version__}",
        boto3_module=version([str(VENV / "bin" / "python"), "-c", VERSIONS]),
        total_seconds=round(total_seconds),
    )


def print_table(results):
    print()
    print(f"{'tool':38} {'scenario':16} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'RSS MB':>8} {'engine s':>10}")
    for r in results:
        print(
            f"{r['tool']:38} {r['scenario']:16} {r['seconds']:8.2f} {r['files_per_second']!s:>9}"
            f" {r['mb_per_second']!s:>8} {r['peak_rss_mb']:8.1f} {r.get('engine_seconds', '')!s:>10}"
        )


if __name__ == "__main__":
    main()
