"""Fixtures of the reliability suite; the rows it collects become docs/reliability.md."""

from __future__ import annotations

import re
import time
from pathlib import Path

import _harness as h
import bookwyrm_testbed as tb
import pytest

ROWS: list[h.Row] = []
DOC = h.REPO_DIR / "docs" / "reliability.md"
_STARTED = {"t": None}


class Case:
    """One case: its artifact directory and the row(s) it adds to the table."""

    def __init__(self, group: str, name: str, directory: Path):
        self.dir = directory
        self.rows: list[h.Row] = []
        self.row = self.add_row(group, name)
        self.started = time.monotonic()

    def add_row(self, group: str, name: str) -> h.Row:
        row = h.Row(group=group, case=name)
        self.rows.append(row)
        ROWS.append(row)
        return row

    def split(self):
        """The case reports one row per step instead of its own."""
        ROWS.remove(self.row)
        self.rows.remove(self.row)

    def scan(self, instance_dirs, extra=(), rows=None):
        """Assert no secret outside .env and its backups, and both mode 0600."""
        instance_dirs = [Path(d) for d in instance_dirs]
        hits = h.scan_secrets([self.dir, *instance_dirs, *map(Path, extra)], instance_dirs)
        modes = h.env_file_modes(instance_dirs)
        wrong = {path: mode for path, mode in modes.items() if mode != "0o600"}
        text = "none" if not hits else "; ".join(hits[:3])
        if wrong:
            text += "; wrong mode: " + ", ".join(f"{Path(p).name} {m}" for p, m in wrong.items())
        for row in rows or [self.row]:
            row.secret_found = text
        assert not hits, hits
        assert not wrong, wrong
        return modes


@pytest.fixture(scope="session", autouse=True)
def _reliability_session():
    h.clean_art_dir()
    _STARTED["t"] = time.time()
    yield


@pytest.fixture(autouse=True)
def _s3_back_up():
    """The S3 server is shared: whatever a test killed is started again."""
    yield
    if not tb.container_running(tb.S3_CONTAINER):
        tb.s3_start()


@pytest.fixture(autouse=True)
def _no_orphaned_become():
    """What a killed connection left running under sudo on this machine ends with the test
    (h.reap_orphaned_become says why); otherwise it would take CPU from every later test."""
    yield
    h.reap_orphaned_become()


@pytest.fixture
def case(request):
    group = getattr(request.module, "GROUP", "reliability")
    name = (request.function.__doc__ or request.node.name).strip().splitlines()[0].rstrip(".")
    if hasattr(request.node, "callspec"):
        name = request.node.callspec.id
    directory = h.ART_DIR / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    directory.mkdir(parents=True, exist_ok=True)
    current = Case(group, name, directory)
    request.node._reliability_case = current
    yield current
    for row in current.rows:
        row.seconds = row.seconds or (time.monotonic() - current.started)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    current = getattr(item, "_reliability_case", None)
    if current is None:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        for row in current.rows:
            row.result = report.outcome if report.when == "call" else "error"
            if report.failed and not row.observed.startswith("FAILED"):
                message = str(report.longrepr.reprcrash.message if hasattr(report.longrepr, "reprcrash") else "")
                row.observed = f"FAILED: {message[:300]} -- {row.observed}"


def pytest_sessionfinish(session, exitstatus):
    if not ROWS:
        return  # the reliability tests did not run: leave the document alone
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(h.render(ROWS, _STARTED["t"] or time.time(), time.time() - (_STARTED["t"] or time.time())))
