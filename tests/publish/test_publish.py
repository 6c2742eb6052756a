"""What a maintainer about to publish runs on the tarball of `ansible-galaxy collection build`:
Galaxy's own importer, antsibull-docs' and antsibull-changelog's linters, ansible-builder's
introspection (what an AWX execution environment installs), and the role README's freshness."""

import json
import re
import shutil

import pytest
import yaml
from packaging.version import Version

from ._env import REPO_DIR, WORK, build_artifact, clean_env, deps_tree, install_artifact, publish_venv, run

MODULES = sorted(p.stem for p in (REPO_DIR / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
# filters: each documented by a .yml beside its plugin file or by the plugin file itself
FILTERS = sorted(
    {p.stem for p in (REPO_DIR / "plugins" / "filter").glob("*.yml")}
    | {p.stem for p in (REPO_DIR / "plugins" / "filter").glob("*.py") if "DOCUMENTATION" in p.read_text()}
)


@pytest.fixture(scope="module")
def tools():
    return publish_venv() / "bin"


@pytest.fixture(scope="module")
def tarball():
    return build_artifact(WORK / "dist")


@pytest.fixture(scope="module")
def installed(tarball):
    return install_artifact(tarball, WORK / "installed")


def tools_env(tools, installed=None, **extra):
    env = clean_env(PATH=f"{tools}:/usr/local/bin:/usr/bin:/bin", **extra)
    if installed is not None:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(installed.parents[2])
    return env


def test_galaxy_importer(tools, tarball, installed):
    """Galaxy's import checks, ansible-lint among them; ansible-test runs in tests/sanity."""
    cfg = WORK / "galaxy-importer.cfg"
    cfg.write_text(
        "[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\nRUN_ANSIBLE_DOC = True\n"
        "CHECK_CHANGELOG = True\nOFFLINE_ANSIBLE_LINT = True\nLOG_LEVEL_MAIN = INFO\n"
    )
    result = run(
        [tools / "python", "-m", "galaxy_importer.main", tarball],
        cwd=tarball.parent,
        # the importer runs ansible-doc on a copy of ours alone: the doc fragments of amazon.aws
        # come from the Python path, as from an installed ansible package
        env=tools_env(tools, installed, GALAXY_IMPORTER_CONFIG=str(cfg), PYTHONPATH=str(deps_tree())),
        timeout=900,
    )
    output = result.stdout + result.stderr
    (WORK / "galaxy-importer.log").write_text(output)
    lines = [line for line in output.splitlines() if line.strip()]
    print(f"galaxy-importer: {lines[-1] if lines else '(no output)'}")
    problems = [line for line in lines if re.match(r"\s*(ERROR|WARNING)\b", line) or "linter" in line.lower()]
    assert result.returncode == 0, output[-6000:]
    assert not problems, "\n".join(problems)
    data = json.loads((tarball.parent / "importer_result.json").read_text())
    names = sorted(c["name"] for c in data["contents"] if c["content_type"] == "module")
    assert names == MODULES
    assert any(c["content_type"] == "role" and c["name"] == "bookwyrm_s3" for c in data["contents"])


def test_antsibull_docs_lint(tools, installed):
    result = run(
        [tools / "antsibull-docs", "lint-collection-docs", "--plugin-docs", "."],
        cwd=installed,
        env=tools_env(tools, installed),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_antsibull_changelog_lint(tools):
    result = run([tools / "antsibull-changelog", "lint"], env=tools_env(tools))
    assert result.returncode == 0, result.stdout + result.stderr


def test_changelog_release_lists_new_content(tools, installed):
    """A release of the current version (in a copy) names every module, filter and the role
    from their version_added, with no 'new module' fragment and no later version_added."""
    galaxy = yaml.safe_load((REPO_DIR / "galaxy.yml").read_text())
    copy = WORK / "release" / "ansible_collections" / "bookwyrm" / "s3"
    shutil.rmtree(copy.parents[2], ignore_errors=True)
    shutil.copytree(installed, copy, symlinks=True)
    shutil.copytree(installed.parents[1] / "amazon", copy.parents[1] / "amazon", symlinks=True)
    shutil.copy(REPO_DIR / "galaxy.yml", copy / "galaxy.yml")
    shutil.rmtree(copy / "changelogs")
    shutil.copytree(REPO_DIR / "changelogs", copy / "changelogs")
    changelog = yaml.safe_load((copy / "changelogs" / "changelog.yaml").read_text())
    if str(galaxy["version"]) in (changelog.get("releases") or {}):
        pytest.skip(f"{galaxy['version']} is already released")
    result = run(
        [tools / "antsibull-changelog", "release", "--version", galaxy["version"], "--date", "2026-01-01"],
        cwd=copy,
        env=tools_env(tools, copy),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    released = yaml.safe_load((copy / "changelogs" / "changelog.yaml").read_text())["releases"][galaxy["version"]]
    assert sorted(m["name"] for m in released.get("modules", [])) == MODULES
    assert [r["name"] for r in released.get("objects", {}).get("role", [])] == ["bookwyrm_s3"]
    for fragment in (REPO_DIR / "changelogs" / "fragments").glob("*.y*ml"):
        text = fragment.read_text().lower()
        assert "new module" not in text and " - new role" not in text, f"{fragment.name}: comes from the release"
    assert sorted(f["name"] for f in released.get("plugins", {}).get("filter", [])) == FILTERS


def version_added_everywhere(doc, path):
    """(path, version_added, its collection) of every entry below a plugin's top level."""
    if isinstance(doc, dict):
        if "version_added" in doc and path.count("/") > 1:
            yield path, str(doc["version_added"]), doc.get("version_added_collection")
        for key, value in doc.items():
            yield from version_added_everywhere(value, f"{path}/{key}")
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from version_added_everywhere(value, f"{path}/{index}")


def test_version_added(tools, installed):
    """What ansible-doc reads from the tarball: every module, filter and role entry point was
    added in a released version or the one being released (none released yet: all are 0.1.0);
    an option or return value added later than its plugin says so with a version after the
    plugin's, and one that came with its plugin says nothing."""
    galaxy = str(yaml.safe_load((REPO_DIR / "galaxy.yml").read_text())["version"])
    changelog = yaml.safe_load((REPO_DIR / "changelogs" / "changelog.yaml").read_text())
    known = {*map(str, changelog.get("releases") or {}), galaxy}
    dumped = run(
        [tools / "ansible-doc", "--metadata-dump", "--no-fail-on-errors", "bookwyrm.s3"],
        env=tools_env(tools, installed),
    )
    assert dumped.returncode == 0, dumped.stderr
    dump = json.loads(dumped.stdout)["all"]
    tops = {f"module {n}": d["doc"] for n, d in dump["module"].items()}
    tops |= {f"filter {n}": d["doc"] for n, d in dump["filter"].items()}
    tops |= {f"role {n} {e}": spec for n, d in dump["role"].items() for e, spec in d["entry_points"].items()}
    assert sorted(k for k in tops if k.startswith("module ")) == [f"module bookwyrm.s3.{m}" for m in MODULES]
    assert sorted(k for k in tops if k.startswith("filter ")) == [f"filter bookwyrm.s3.{f}" for f in FILTERS]
    for name, doc in tops.items():
        added = str(doc.get("version_added"))
        assert added in known, f"{name}: version_added {added}, not a release of {sorted(known)}"
        assert Version(added) <= Version(galaxy), f"{name}: version_added {added} is after {galaxy}"
        for path, inner, collection in version_added_everywhere(doc, name):
            if collection not in (None, "bookwyrm.s3"):
                continue  # a doc fragment's option, versioned by its own collection
            assert inner in known and Version(added) < Version(inner) <= Version(galaxy), (
                f"{path}: version_added {inner} (the plugin came in {added})"
            )


def test_execution_environment_introspection(tools, installed):
    result = run(
        [tools / "ansible-builder", "introspect", "--sanitize", installed.parents[2]],
        env=tools_env(tools),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (WORK / "ee-introspect.txt").write_text(result.stdout)
    print(result.stdout)
    data = yaml.safe_load(result.stdout)
    python = "\n".join(data["python"]) if isinstance(data["python"], list) else str(data["python"])
    assert re.search(r"boto3>=1\.34\.0,<2\.0\.0.*bookwyrm\.s3", python), python
    assert re.search(r"botocore>=1\.34\.0,<2\.0\.0.*bookwyrm\.s3", python), python


def test_role_readme_is_current():
    result = run([REPO_DIR / ".venv" / "bin" / "python", "tools/role_readme.py", "--check"])
    assert result.returncode == 0, result.stderr
