"""Writes docs/benchmarks.json, docs/benchmarks.md and docs/benchmarks.png from bench/run.py's rows."""

from __future__ import annotations

import json
from pathlib import Path

OURS = "media_sync"
AWS = "aws s3 sync"
RCLONE16 = "rclone --transfers 16 --checkers 16"
S3SYNC = "community.aws.s3_sync"


def find(results, tool, scenario):
    for row in results:
        if row["tool"] == tool and row["scenario"] == scenario:
            return row
    return None


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def targets(results):
    """[(target, measured, held)] from the same run."""
    out = []
    first = find(results, OURS, "first copy")
    if first:
        for tool, want, label in (
            (RCLONE16, 0.9, "first copy: rclone --transfers 16 time / ours >= 0.9"),
            (AWS, 2.0, "first copy: >= 2x faster than aws s3 sync"),
            (S3SYNC, 4.0, "first copy: >= 4x faster than community.aws.s3_sync"),
        ):
            other = find(results, tool, "first copy")
            if other:
                r = ratio(other["seconds"], first["seconds"])
                out.append(
                    (label, "{:.2f}x ({:.1f} s vs {:.1f} s)".format(r, other["seconds"], first["seconds"]), r >= want)
                )
    for scenario, aws_scenario in (("no-op resync", "no-op resync"), ("100k no-op", "100k no-op")):
        ours = find(results, OURS, scenario)
        aws = find(results, AWS, aws_scenario)
        if ours and aws and ours.get("engine_seconds"):
            r = ratio(aws["seconds"], ours["engine_seconds"])
            out.append(
                (
                    f"{scenario}: engine >= 3x faster than aws s3 sync's wall time",
                    "{:.2f}x (engine {:.2f} s, whole ansible-playbook {:.2f} s, aws {:.2f} s)".format(
                        r, ours["engine_seconds"], ours["seconds"], aws["seconds"]
                    ),
                    r >= 3,
                )
            )
    big = find(results, OURS, "100k first copy")
    if big:
        rss = big.get("module_rss_mb") or big["peak_rss_mb"]
        out.append(
            ("100k files: module peak memory < 200 MB", f"{rss:.0f} MB (PSS of the module processes)", rss < 200)
        )
        if first:
            per_file_small = first["seconds"] / first["files"]
            per_file_big = big["seconds"] / big["files"]
            out.append(
                (
                    "100k files: time linear in file count",
                    f"{per_file_small * 1000:.2f} ms/file at {first['files']} files, "
                    f"{per_file_big * 1000:.2f} ms/file at {big['files']} files (smaller files)",
                    per_file_big <= per_file_small * 1.5,
                )
            )
    return out


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
            **{
                k: r[k]
                for k in (
                    "files_per_second",
                    "mb_per_second",
                    "engine_seconds",
                    "module_rss_mb",
                    "complete",
                    "rerun",
                    "run",
                )
                if k in r
            },
        )
        for r in results
    ]
    checks = targets(results)
    (docs / "benchmarks.json").write_text(
        json.dumps(
            dict(machine=meta, results=rows, targets=[dict(target=t, measured=m, held=h) for t, m, h in checks]),
            indent=2,
        )
        + "\n"
    )
    chart(results, docs / "benchmarks.png")
    (docs / "benchmarks.md").write_text(markdown(results, meta, checks))


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = [
        s
        for s in ("first copy", "no-op resync", "1% new", "100k first copy", "100k no-op")
        if any(r["scenario"] == s for r in results)
    ]
    tools = []
    for r in results:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    fig, axes = plt.subplots(1, len(scenarios), figsize=(4 * len(scenarios), 4.5))
    if len(scenarios) == 1:
        axes = [axes]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, scenario in zip(axes, scenarios):
        names, values, cols = [], [], []
        for i, tool in enumerate(tools):
            row = find(results, tool, scenario)
            if row:
                names.append(tool.replace(" --transfers 16 --checkers 16", " 16").replace("community.aws.", ""))
                values.append(row["seconds"])
                cols.append(colors[i % len(colors)])
        ax.barh(names[::-1], values[::-1], color=cols[::-1])
        ax.set_title(scenario)
        ax.set_xlabel("seconds (lower is better)")
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {v:.1f}", va="center", fontsize=8)
    fig.suptitle("media sync on SeaweedFS over loopback (wall time, whole process)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def markdown(results, meta, checks):
    lines = [
        "# Media sync benchmarks",
        "",
        "Made by `make bench` (bench/run.py) in one run on the test bed's S3 server; every tool",
        "works on the same generated trees, each with a fresh bucket. Wall time of the whole",
        "command (for media_sync and s3_sync: the whole `ansible-playbook` run); peak RSS is the",
        "sum over the command's process tree, polled every 50 ms. For media_sync, *engine* is the",
        "sync's own time as the module reports it (`stats.seconds`) and *module PSS* the module's",
        "processes only (proportional set size: pages the forked workers share count once).",
        "The 1% scenario syncs the 10k tree plus 1% new files into the bucket",
        "the first copy filled: its files and MB/s count the new files only.",
        "",
        "![chart](benchmarks.png)",
        "",
        "| tool | scenario | files | MB | seconds | files/s | MB/s | peak RSS MB | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        notes = []
        if r.get("engine_seconds") is not None:
            notes.append("engine {:.2f} s".format(r["engine_seconds"]))
        if r.get("module_rss_mb"):
            notes.append("module PSS {:.0f} MB".format(r["module_rss_mb"]))
        if r.get("run"):
            notes.append(f"run {r['run']}")
        if r.get("rerun"):
            notes.append("from the partial rerun")
        if r.get("complete") is False:
            notes.append("INCOMPLETE: {} objects".format(r.get("objects_after")))
        lines.append(
            f"| {r['tool']} | {r['scenario']} | {r['files']} | {r['bytes'] / 1024 / 1024:.1f} | {r['seconds']:.2f} "
            f"| {r['files_per_second']} | {r['mb_per_second']} | {r['peak_rss_mb']:.0f} | {', '.join(notes)} |"
        )
    lines += [
        "",
        "## Targets (ratios from the run(s) listed under Machine)",
        "",
        "| target | measured | held |",
        "|---|---|---|",
    ]
    for target, measured, held in checks:
        lines.append("| {} | {} | {} |".format(target, measured, "yes" if held else "**no**"))
    lines += ["", "## Machine and versions", ""]
    for key, value in meta.items():
        lines.append("- {}: {}".format(key.replace("_", " "), value))
    lines += ["", "## Notes", ""]
    notes_file = Path(__file__).with_name("NOTES.md")
    if notes_file.exists():
        lines.append(notes_file.read_text().strip())
    return "\n".join(lines) + "\n"
