"""Each documented tag of migrate.yml runs alone on a migrated instance (issue 11): facts come
with every tag, and a phase that has nothing left to do changes nothing."""

from __future__ import annotations

import re

import _harness as h
import bookwyrm_testbed as tb
import pytest

pytestmark = pytest.mark.testbed
GROUP = "tags"
NAME, PORT = "rel-tags", 8115
BUCKET = "rel-tags"
README = h.REPO_DIR / "README.md"


def documented_tags() -> list[str]:
    """The tags the README's table lists (the single place they are documented)."""
    section = README.read_text().split("### Tags", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `(bookwyrm_s3\w*)` \|", section, re.MULTILINE)


def test_the_readme_documents_every_tag_of_the_role():
    main = (h.REPO_DIR / "roles" / "bookwyrm_s3" / "tasks" / "main.yml").read_text()
    in_role = set(re.findall(r"\b(bookwyrm_s3(?:_\w+)?)\b", " ".join(re.findall(r"tags: \[([^\]]*)\]", main))))
    assert in_role and set(documented_tags()) == in_role


@pytest.fixture(scope="module")
def migrated(s3_server):
    tb.destroy_instance(NAME)
    h.drop_bucket(BUCKET)
    instance = tb.create_instance(NAME, PORT)
    instance.up()
    tb.seed(instance, 10, 3, 3)
    case_dir = h.ART_DIR / "tags-migration"
    case_dir.mkdir(parents=True, exist_ok=True)
    hv = h.host_vars(instance, BUCKET, case_dir)
    run = h.run_play(case_dir, {NAME: hv}, verbosity=0)
    assert run.rc == 0, run.output[-4000:]
    yield instance, hv
    tb.destroy_instance(NAME)
    h.drop_bucket(BUCKET)


@pytest.mark.parametrize("tag", documented_tags())
def test_tag_runs_alone_and_changes_nothing(migrated, case, tag):
    """One tag alone."""
    instance, hv = migrated
    result = h.run_play(case.dir, {NAME: hv}, verbosity=0, extra_args=["--tags", tag])
    ran = sorted({e["task"].split(" | ")[0] for e in result.events if e["event"] == "task_start"})
    case.row.done = f"migrate.yml --tags {tag} on a migrated instance, over SSH with become"
    case.row.observed = f"rc {result.rc}, changed tasks {result.changed_tasks()}, phases run: {', '.join(ran)}"
    assert result.rc == 0, result.output[-3000:]
    assert not result.changed_tasks(), result.changed_tasks()
    assert "Facts" in ran
    case.scan([instance.directory])
