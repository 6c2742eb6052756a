"""Venvs and the built artifact for the publishing checks (tests/publish).

Every venv lives under .build/ and is rebuilt only when it is missing or its requirements
changed, so a fresh machine installs everything and a second `make test` installs nothing.
"""

import glob
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
BUILD = REPO_DIR / ".build"
MAIN_BIN = REPO_DIR / ".venv" / "bin"
# Outside the checkout: ansible-test skips every file under a git-ignored path. One per
# checkout, so that two checkouts on one machine do not build into each other's trees.
WORK = Path(tempfile.gettempdir()) / f"bookwyrm-s3-publish-{hashlib.sha256(bytes(REPO_DIR)).hexdigest()[:8]}"


def run(argv, cwd=REPO_DIR, env=None, timeout=1800):
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTEST_", "VIRTUAL_ENV"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", DO_NOT_TRACK="1", PY_COLORS="0")
    env.update(extra)
    return env


def find_python(minor):
    """An interpreter of Python 3.<minor>: on PATH, else one of pyenv's (these machines have it)."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python3.{minor}")]
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.{minor}.*/bin/python3.{minor}"), reverse=True)
    for candidate in filter(None, candidates):
        # a pyenv shim is on PATH even when it has no such version selected: it must run
        if run([candidate, "-c", "import venv"], timeout=60).returncode == 0:
            return candidate
    return None


def ensure_venv(path, requirements, python=None):
    """A venv at path with exactly these requirement lines, rebuilt when they change."""
    path = Path(path)
    wanted = "\n".join(requirements) + "\n"
    marker = path / ".requirements"
    if marker.exists() and marker.read_text() == wanted and (path / "bin" / "python").exists():
        return path
    shutil.rmtree(path, ignore_errors=True)
    started = time.monotonic()
    made = run([python or sys.executable, "-m", "venv", path])
    assert made.returncode == 0, made.stderr
    req = path / "requirements.txt"
    req.write_text(wanted)
    for argv in (["install", "-q", "--upgrade", "pip"], ["install", "-q", "-r", req]):
        done = run([path / "bin" / "python", "-m", "pip", *argv], timeout=1200)
        tail = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, f"pip {' '.join(map(str, argv))} in {path}:\n{tail}"
    marker.write_text(wanted)
    print(f"venv {path.name}: installed in {time.monotonic() - started:.0f}s")
    return path


def read_requirements(path):
    return [
        line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines() if line.split("#", 1)[0].strip()
    ]


def publish_venv():
    """The publishing toolchain (galaxy-importer, antsibull-docs, antsibull-changelog,
    ansible-builder, sphinx), apart from .venv: galaxy-importer pins ansible-lint and attrs."""
    return ensure_venv(BUILD / "publish-venv", read_requirements(REPO_DIR / "requirements-publish.txt"))


def bundled_collections():
    """The site-packages directory holding the ansible package's collections (amazon.aws)."""
    import ansible_collections.amazon.aws  # noqa: F401  (from the ansible package in .venv)

    return Path(importlib.import_module("ansible_collections.amazon.aws").__path__[0]).parents[2]


def build_artifact(dest):
    """`ansible-galaxy collection build` of this checkout into dest; returns the tarball."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("bookwyrm-s3-*.tar.gz"):
        old.unlink()
    built = run([MAIN_BIN / "ansible-galaxy", "collection", "build", "--output-path", dest, "."], env=clean_env())
    assert built.returncode == 0, built.stdout + built.stderr
    return next(dest.glob("bookwyrm-s3-*.tar.gz"))


def install_artifact(tarball, root, galaxy=MAIN_BIN / "ansible-galaxy"):
    """The tarball installed as users get it into root/ansible_collections, with amazon.aws beside
    it (ansible-test imports dependencies only from the same tree and follows no symlink there)."""
    root = Path(root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    done = run(
        [galaxy, "collection", "install", "--force", "--no-deps", "-p", root, tarball],
        env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(root)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.copytree(
        bundled_collections() / "ansible_collections" / "amazon" / "aws",
        root / "ansible_collections" / "amazon" / "aws",
        symlinks=True,
    )
    return root / "ansible_collections" / "bookwyrm" / "s3"


def deps_tree():
    """amazon.aws alone (from the ansible package in .venv), for PYTHONPATH: what a user's
    machine with the dependency installed has."""
    root = BUILD / "deps-collections"
    target = root / "ansible_collections" / "amazon" / "aws"
    source = bundled_collections() / "ansible_collections" / "amazon" / "aws"
    stamp = root / ".source"
    if not target.exists() or not stamp.exists() or stamp.read_text() != str(source.resolve()):
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(source, target, symlinks=True)
        stamp.write_text(str(source.resolve()))
    return root
