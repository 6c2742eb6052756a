"""Static checks of the collection as users get it: ansible-test sanity on the built
artifact, ansible-doc on every module, ansible-lint (production profile) and ruff."""

import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Outside the checkout: under a git-ignored path ansible-test would skip every file.
BUILD_DIR = Path(tempfile.gettempdir()) / "bookwyrm-s3-sanity"
MODULES = sorted(p.stem for p in (REPO_DIR / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def run(argv, cwd=REPO_DIR, env=None, timeout=1800):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed_collection(ansible_env):
    """The built tarball installed into its own ansible_collections tree, next to the
    amazon.aws and community.docker it depends on (from the ansible package)."""
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    BUILD_DIR.mkdir(parents=True)
    built = run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(BUILD_DIR), "."], env=ansible_env
    )
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(BUILD_DIR.glob("bookwyrm-s3-*.tar.gz"))
    installed = run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--force",
            "--no-deps",
            "-p",
            str(BUILD_DIR),
            str(tarball),
        ],
        env=ansible_env,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # ansible-test imports dependencies only from the same tree, and does not follow symlinks there
    bundled = Path(importlib.import_module("ansible_collections.amazon.aws").__path__[0]).parent.parent
    target = BUILD_DIR / "ansible_collections" / "amazon" / "aws"
    if not target.exists():
        shutil.copytree(bundled / "amazon" / "aws", target, symlinks=True)
    return BUILD_DIR / "ansible_collections" / "bookwyrm" / "s3"


def test_ansible_test_sanity(installed_collection, ansible_env):
    # ansible-test fetches a pip bootstrap script from a host that may be out of reach; its own
    # documented fallback is a copy in its cache, which tests/sanity/get_pip.py provides.
    from ansible_test._internal.python_requirements import get_venv_packages  # noqa: F401

    source = (Path(sys.modules["ansible_test"].__file__).parent / "_internal" / "python_requirements.py").read_text()
    pip_version = re.search(r"pip='([0-9.]+)'", source).group(1)
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{pip_version.replace('.', '_')}.py"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_DIR / "tests" / "sanity" / "get_pip.py", cache)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    result = run(
        [str(BIN / "ansible-test"), "sanity", "--venv", "--python", python, "--color", "no"],
        cwd=installed_collection,
        env=ansible_env,
    )
    errors = "\n".join(line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR"))
    assert result.returncode == 0, errors or result.stdout[-5000:] + result.stderr[-5000:]


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module, installed_collection, ansible_env):
    env = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=str(BUILD_DIR))
    result = run([str(BIN / "ansible-doc"), f"bookwyrm.s3.{module}"], env=env)
    assert result.returncode == 0, result.stderr
    assert "EXAMPLES" in result.stdout and "RETURN VALUES" in result.stdout
    assert "[WARNING]" not in result.stderr, result.stderr


def test_ansible_lint_production(ansible_env):
    result = run([str(BIN / "ansible-lint"), "--profile", "production", "--offline", "--nocolor"], env=ansible_env)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]


def test_ruff():
    for argv in (["check", "."], ["format", "--check", "."]):
        result = run([str(BIN / "ruff"), *argv])
        assert result.returncode == 0, result.stdout + result.stderr
