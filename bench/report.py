"""Writes docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.png from bench/run.py's rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

OURS = "media_sync"
AWS = "aws s3 sync"
RCLONE16 = "rclone --transfers 16 --checkers 16"
RCLONE_SIZE_ONLY = "rclone --transfers 16 --checkers 16 --size-only"
CRT = "s3transfer CRT transfer manager"
S3SYNC = "community.aws.s3_sync"
PENDING = "pending"


def find(results, tool, scenario, profile="loopback"):
    for row in results:
        if row["tool"] == tool and row["scenario"] == scenario and row.get("profile", "loopback") == profile:
            return row
    return None


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def _first_copy_targets(results):
    out = []
    ours = find(results, OURS, "first copy")
    rivals = [r for r in (find(results, RCLONE16, "first copy"), find(results, CRT, "first copy")) if r]
    label = "loopback 10k first copy: within 5% of the fastest of rclone --transfers 16 and the CRT"
    if ours and rivals:
        best = min(rivals, key=lambda r: r["seconds"])
        over = ours["seconds"] / best["seconds"] - 1
        engine = ours.get("engine_seconds")
        out.append(
            (
                label,
                "{:+.1f}% ({:.1f} s whole ansible-playbook, engine {} s, vs {} {:.1f} s)".format(
                    over * 100, ours["seconds"], engine, best["tool"], best["seconds"]
                ),
                over <= 0.05,
            )
        )
    else:
        out.append((label, "not measured in this run", PENDING))
    wan = find(results, OURS, "first copy", "wan40")
    for tool, want in ((RCLONE16, 1.3), (AWS, 5.0)):
        label = f"wan40 10k first copy: >= {want}x faster than {tool}"
        other = find(results, tool, "first copy", "wan40")
        if wan and other:
            r = ratio(other["seconds"], wan["seconds"])
            out.append(
                (label, "{:.2f}x ({:.1f} s vs ours {:.1f} s)".format(r, other["seconds"], wan["seconds"]), r >= want)
            )
        else:
            out.append((label, "not measured in this run", PENDING))
    near = find(results, OURS, "first copy")
    if wan and near and wan.get("workers"):
        out.append(
            (
                "wan40: the worker count adapts to latency (workers: 0, the default)",
                "{} transfers in flight at 40 ms, {} on loopback".format(wan["workers"], near.get("workers")),
                wan["workers"] > (near.get("workers") or 0),
            )
        )
    return out


def _scale_targets(results):
    out = []
    sizes = {}
    for row in results:
        if row["tool"] == OURS and row["scenario"].endswith(" first copy") and row["scenario"] != "first copy":
            sizes[row["scenario"].split()[0]] = row
    for label in ("100k", "1M"):
        ours = find(results, OURS, f"{label} no-op")
        aws = find(results, AWS, f"{label} no-op")
        name = f"{label} no-op resync: engine >= 3x faster than aws s3 sync's wall time"
        if ours and aws and ours.get("engine_seconds"):
            r = ratio(aws["seconds"], ours["engine_seconds"])
            text = "{:.2f}x (engine {:.2f} s, whole ansible-playbook {:.2f} s, aws {:.2f} s)".format(
                r, ours["engine_seconds"], ours["seconds"], aws["seconds"]
            )
            out.append((name, text, r >= 3))
        else:
            out.append((name, "not measured in this run", PENDING))

    def peak(label):
        rows = [r for r in results if r["tool"] == OURS and r["scenario"].startswith(label + " ")]
        values = [r.get("module_pss_mb") or 0 for r in rows]
        return max(values) if values else None

    small, big = peak("100k"), peak("1M")
    name = "1M: module peak memory (PSS, all its processes) < 200 MB"
    out.append((name, f"{big:.0f} MB" if big else "not measured in this run", big < 200 if big else PENDING))
    name = "module PSS flat between 100k and 1M (within 20%)"
    if small and big:
        out.append((name, f"{small:.0f} MB at 100k, {big:.0f} MB at 1M ({big / small - 1:+.0%})", big <= small * 1.2))
    else:
        out.append((name, "not measured in this run", PENDING))
    name = "1M: time per file within 25% of 100k's (first copy, engine)"
    a, b = sizes.get("100k"), sizes.get("1M")
    if a and b and a.get("engine_seconds") and b.get("engine_seconds"):
        pa, pb = a["engine_seconds"] / a["files"], b["engine_seconds"] / b["files"]
        out.append(
            (
                name,
                f"{pa * 1000:.3f} ms/file at 100k, {pb * 1000:.3f} ms/file at 1M ({pb / pa - 1:+.0%})",
                pb <= pa * 1.25,
            )
        )
    else:
        out.append((name, "not measured in this run", PENDING))
    return out


def _cutover_targets(results):
    out = []
    first = find(results, "migrate.yml", "cutover 10k")
    rerun = find(results, "migrate.yml", "cutover no-op rerun")
    copy = find(results, OURS, "first copy")
    name = "migrate.yml on 10k files: wall time <= its media copy + 40 s"
    inside = (first or {}).get("engine_seconds") or (copy or {}).get("seconds")
    if first and inside:
        text = "{:.0f} s, media copy {:.0f} s (+{:.0f} s)".format(first["seconds"], inside, first["seconds"] - inside)
        out.append((name, text, first["seconds"] <= inside + 40))
    else:
        out.append((name, "not measured in this run", PENDING))
    name = "migrate.yml no-op rerun < 10 s"
    pipelined = find(results, "migrate.yml", "cutover no-op rerun, pipelining")
    text = f"{rerun['seconds']:.1f} s" if rerun else "not measured in this run"
    if rerun and pipelined:
        text += f" ({pipelined['seconds']:.1f} s with ANSIBLE_PIPELINING on)"
    out.append((name, text, rerun["seconds"] < 10 if rerun else PENDING))
    return out


def targets(results):
    """[(target, measured, held)] from the rows given (one run, or a run and a --merge)."""
    return _first_copy_targets(results) + _scale_targets(results) + _cutover_targets(results)


JSON_FIELDS = (
    "profile",
    "files_per_second",
    "mb_per_second",
    "engine_seconds",
    "module_pss_mb",
    "engine",
    "workers",
    "processes",
    "moved",
    "skipped",
    "errors",
    "complete",
    "objects_after",
    "recap",
    "rounds",
)


def write(results, meta, docs: Path):
    docs.mkdir(parents=True, exist_ok=True)
    rows = [
        dict(
            tool=r["tool"],
            scenario=r["scenario"],
            files=r["files"],
            bytes=r["bytes"],
            seconds=r["seconds"],
            peak_rss_mb=r["peak_rss_mb"],
            **{k: r[k] for k in JSON_FIELDS if k in r},
        )
        for r in results
    ]
    for row in rows:
        row.setdefault("profile", "loopback")
        row.setdefault("engine_seconds", None)
        row.setdefault("module_pss_mb", None)
    checks = targets(rows)
    (docs / "benchmarks.json").write_text(
        json.dumps(
            dict(machine=meta, results=rows, targets=[dict(target=t, measured=m, held=h) for t, m, h in checks]),
            indent=2,
        )
        + "\n"
    )
    chart(rows, docs / "benchmarks.png")
    (docs / "benchmarks.md").write_text(markdown(rows, meta, checks))


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    for r in results:
        key = (r.get("profile", "loopback"), r["scenario"])
        if key not in panels:
            panels.append(key)
    tools = []
    for r in results:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    cols = min(3, len(panels))
    rows_n = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(5.5 * cols, 3.2 * rows_n), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (profile, scenario) in zip(axes.flat, panels):
        names, values, cols_ = [], [], []
        for i, tool in enumerate(tools):
            row = find(results, tool, scenario, profile)
            if row:
                short = tool.replace(" --transfers 16 --checkers 16", " 16").replace("community.aws.", "")
                names.append(short.replace("s3transfer CRT transfer manager", "CRT transfer mgr"))
                values.append(row["seconds"])
                cols_.append(colors[i % len(colors)])
        ax.barh(names[::-1], values[::-1], color=cols_[::-1])
        ax.set_title(f"{scenario} ({profile})", fontsize=10)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("seconds, whole command (lower is better)", fontsize=7)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:.1f}", va="center", fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("media sync on SeaweedFS: loopback, and through a 40 ms round-trip proxy (wan40)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def markdown(results, meta, checks):
    lines = [
        "# Media sync benchmarks",
        "",
        "Made by `make bench` (10k tree on loopback and through a 40 ms round-trip proxy, 100k tree)",
        "and `make bench-scale` (100k and 1M trees), bench/run.py, on the test bed's S3 server",
        "(SeaweedFS); every tool works on the same generated trees, each with a fresh bucket, except",
        "the big trees' aws and rclone no-op rows, which resync against the bucket media_sync filled.",
        "Wall time of the whole command (for media_sync and s3_sync: the whole `ansible-playbook` run);",
        "peak RSS is the sum over the command's process tree, polled every 200 ms. For media_sync,",
        "*engine* is the sync's own time as the module reports it (`stats.seconds`) and *module PSS*",
        "the module's processes only (proportional set size: pages the forked workers share count",
        "once). The 1% / 0.1% scenarios sync the tree plus new files into the bucket the first copy",
        "filled: their files and MB/s count the new files only. The 10k rows run in rounds, each",
        "tool once per round in turn; a row is its fastest round (every round's time in its notes).",
        "Profile `wan40`: every tool talks to",
        "the server through bench/latency_proxy.py on 127.0.0.1, which adds 40 ms to each round trip",
        "and talks to the server's container directly (not through Docker's userland port proxy).",
        "",
        "![chart](benchmarks.png)",
        "",
        "| profile | tool | scenario | files | MB | seconds | files/s | MB/s | peak RSS MB | notes |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        notes = []
        if r.get("engine_seconds") is not None:
            notes.append("engine {:.2f} s".format(r["engine_seconds"]))
        if r.get("module_pss_mb"):
            notes.append("module PSS {:.0f} MB".format(r["module_pss_mb"]))
        if r.get("engine"):
            notes.append(
                "{} engine, {} workers, {} processes".format(r["engine"], r.get("workers"), r.get("processes"))
            )
        if r.get("rounds"):
            notes.append("fastest of {} rounds: {} s".format(len(r["rounds"]), " / ".join(map(str, r["rounds"]))))
        if r.get("recap"):
            notes.append("recap: " + r["recap"])
        if r.get("errors"):
            notes.append("{} ERRORS".format(r["errors"]))
        if r.get("complete") is False:
            notes.append("INCOMPLETE: {} objects".format(r.get("objects_after")))
        lines.append(
            f"| {r.get('profile', 'loopback')} | {r['tool']} | {r['scenario']} | {r['files']} "
            f"| {r['bytes'] / 1024 / 1024:.1f} | {r['seconds']:.2f} | {r['files_per_second']} | {r['mb_per_second']} "
            f"| {r['peak_rss_mb']:.0f} | {', '.join(notes)} |"
        )
    lines += [
        "",
        "## Targets (ratios from the run(s) listed under Machine)",
        "",
        "| target | measured | held |",
        "|---|---|---|",
    ]
    for target, measured, held in checks:
        shown = held if held == PENDING else ("yes" if held else "**no**")
        lines.append(f"| {target} | {measured} | {shown} |")
    lines += ["", "## Machine and versions", ""]
    for key, value in meta.items():
        lines.append("- {}: {}".format(key.replace("_", " "), value))
    lines += ["", "## Notes", ""]
    notes_file = Path(__file__).with_name("NOTES.md")
    if notes_file.exists():
        lines.append(notes_file.read_text().strip())
    return "\n".join(lines) + "\n"
