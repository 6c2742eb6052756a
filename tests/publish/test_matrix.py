"""Every ansible-core minor that meta/runtime.yml admits, each in its own cached venv
(.build/core-2.NN, Python 3.12 for 2.20 as it requires): the unit tests, `ansible-test sanity` on
the built artifact, and the molecule migrate scenario under the oldest and the newest.

ansible-core 2.19 is the one in .venv: tests/unit, tests/sanity and tests/molecule already run
under it. 2.17 runs with the oldest boto3/botocore requirements.txt admits.

BOOKWYRM_S3_MATRIX=1 runs it (the other suites' runs skip it): `make test` runs the unit and
sanity part after its main lane and the molecule part with the timed scenarios, alone on the
machine (testbed/bin/test); `make matrix` runs all of it. Unit and sanity run two versions at a
time (nothing shared: own venv, own HOME for ansible-test's caches, own install tree); molecule
one version after the other (they share the test bed). The table goes to docs/matrix.md.
"""

import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ._env import (
    BUILD,
    REPO_DIR,
    WORK,
    build_artifact,
    bundled_collections,
    clean_env,
    deps_tree,
    ensure_venv,
    find_python,
    run,
)

# version -> (Python minor for the controller, extra requirements)
MATRIX = {
    "2.17": (11, ["boto3==1.34.0", "botocore==1.34.0"]),
    "2.18": (11, ["boto3>=1.35,<2", "botocore>=1.35,<2"]),
    "2.20": (12, ["boto3>=1.35,<2", "botocore>=1.35,<2"]),  # 2.20 needs Python >= 3.12 on the controller
}
MAIN_VERSION = "2.19"
TABLE = REPO_DIR / "docs" / "matrix.md"
# Other runs of tests/publish (`make publish`) skip the matrix: make test and make matrix set this.
MATRIX_ONLY = pytest.mark.skipif(
    os.environ.get("BOOKWYRM_S3_MATRIX") != "1",
    reason="the ansible-core matrix runs with BOOKWYRM_S3_MATRIX=1 (`make test` and `make matrix` set it)",
)
TABLE_HEADER = """# ansible-core matrix

Written by `make test` and `make matrix` (tests/publish/test_matrix.py): every ansible-core
minor that meta/runtime.yml admits, besides 2.19 which every other suite runs in .venv. Seconds
are wall time on the machine that ran it; unit and sanity run two versions at a time.

"""


def admitted_minors():
    spec = yaml.safe_load((REPO_DIR / "meta" / "runtime.yml").read_text())["requires_ansible"]
    low = re.search(r">=\s*2\.(\d+)", spec)
    high = re.search(r"<\s*2\.(\d+)", spec)
    return low and int(low.group(1)), high and int(high.group(1))


def core_venv(version):
    minor, extra = MATRIX[version]
    python = find_python(minor)
    assert python, f"ansible-core {version} needs Python 3.{minor}: none on PATH or under pyenv"
    # moto: without it the media sync tests skip themselves, and a skip would pass here
    requirements = [f"ansible-core=={version}.*", "pytest>=8,<10", "moto[s3,server]>=5,<6", *extra]
    return ensure_venv(BUILD / f"core-{version}", requirements, python)


def unit(version, venv, deps):
    env = clean_env(PYTHONPATH=str(deps))
    return run([venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"], env=env)


def sanity(version, venv, tarball):
    root = WORK / f"core-{version}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    installed = run(
        [venv / "bin" / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", root, tarball],
        env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(root)),
    )
    if installed.returncode:
        return installed
    shutil.copytree(
        bundled_collections() / "ansible_collections" / "amazon" / "aws",
        root / "ansible_collections" / "amazon" / "aws",
        symlinks=True,
    )
    collection = root / "ansible_collections" / "bookwyrm" / "s3"
    # Own HOME: ansible-test keeps its sanity venvs under ~/.ansible/test, which the version
    # running beside this one must not share. Its pip bootstrap script comes from its cache.
    home = BUILD / f"core-{version}-home"
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    source = next((venv / "lib").glob("python3.*/site-packages/ansible_test/_internal/python_requirements.py"))
    pip_version = re.search(r"pip='([0-9.]+)'", source.read_text()).group(1)
    shutil.copy(REPO_DIR / "tests" / "sanity" / "get_pip.py", cache / f"get_pip_{pip_version.replace('.', '_')}.py")
    minor = MATRIX[version][0]
    env = clean_env(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PIP_CACHE_DIR=str(Path.home() / ".cache" / "pip"),
        PYENV_ROOT=os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")),
    )
    return run(
        [venv / "bin" / "ansible-test", "sanity", "--venv", "--python", f"3.{minor}", "--color", "no"],
        cwd=collection,
        env=env,
    )


def step_result(result, started):
    """(ok, seconds, detail, summary) of one step's finished process."""
    text = result.stdout + result.stderr
    detail = "\n".join(line for line in text.splitlines() if line.startswith(("ERROR", "FAILED", "E  ")))
    last = [line for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    summary = last[-1].strip("= ") if last else ""
    return result.returncode == 0, time.monotonic() - started, detail or text[-4000:], summary


def unit_step(version, deps):
    """venv and unit tests of one version."""
    started = time.monotonic()
    try:
        venv = core_venv(version)
    except AssertionError as exc:
        return False, time.monotonic() - started, str(exc), "no venv"
    started = time.monotonic()
    return step_result(unit(version, venv, deps), started)


def sanity_step(version, tarball):
    started = time.monotonic()
    try:
        venv = core_venv(version)
    except AssertionError as exc:
        return False, time.monotonic() - started, str(exc), "no venv"
    return step_result(sanity(version, venv, tarball), started)


def ends():
    """The oldest and the newest ansible-core minor that requires_ansible admits."""
    low, high = admitted_minors()
    return f"2.{low}", f"2.{(high or 21) - 1}"


def table_row(version, step, outcome):
    ok, seconds, _, summary = outcome
    note = f" ({summary})" if summary else ""
    return f"| {version} | 3.{MATRIX[version][0]} | {step} | {'passed' if ok else 'FAILED'}{note} | {seconds:.0f} |"


@pytest.fixture(scope="module")
def matrix_results():
    low, high = admitted_minors()
    covered = sorted([*MATRIX, MAIN_VERSION], key=lambda v: int(v.split(".")[1]))
    wanted = [f"2.{m}" for m in range(low, (high or 21))]
    assert wanted == covered, f"requires_ansible admits {wanted}, the matrix tests {covered}"
    tarball = build_artifact(WORK / "matrix-dist")
    deps = deps_tree()

    def chain(version):
        return {"unit": unit_step(version, deps), "sanity": sanity_step(version, tarball)}

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {v: pool.submit(chain, v) for v in MATRIX}
        results = {v: f.result() for v, f in futures.items()}
    lines = ["| ansible-core | Python | step | result | seconds |", "|---|---|---|---|---|"]
    lines += [table_row(v, step, outcome) for v, steps in results.items() for step, outcome in steps.items()]
    table = "\n".join(lines) + "\n"
    TABLE.write_text(TABLE_HEADER + table)
    print("\n" + table)
    return results


# The molecule migrate scenario under the oldest and the newest admitted ansible-core, one after
# the other (they share the test bed), each on a copy of molecule/migrate with its own instance,
# bucket and port: BOOKWYRM_S3_MATRIX_PREFIX-migrate-2NN on BOOKWYRM_S3_MATRIX_PORT.
MOLECULE_PREFIX = os.environ.get("BOOKWYRM_S3_MATRIX_PREFIX", "matrix")
MOLECULE_PORT = int(os.environ.get("BOOKWYRM_S3_MATRIX_PORT", "8104"))
# What molecule and testinfra call by name: taken from the version under test, the rest
# (molecule, pytest with testinfra) from .venv.
ANSIBLE_COMMANDS = ("ansible", "ansible-playbook", "ansible-galaxy", "ansible-config", "ansible-inventory")


def migrate_scenario(version):
    """molecule/<prefix>-migrate-2NN: molecule/migrate with its own instance name and port."""
    name = f"{MOLECULE_PREFIX}-migrate-{version.replace('.', '')}"
    source, scenario = REPO_DIR / "molecule" / "migrate", REPO_DIR / "molecule" / name
    shutil.rmtree(scenario, ignore_errors=True)
    shutil.copytree(source, scenario, ignore=shutil.ignore_patterns("host_vars", "__pycache__"))
    config = (scenario / "molecule.yml").read_text()
    assert "  - name: mol-migrate\n" in config
    (scenario / "molecule.yml").write_text(config.replace("  - name: mol-migrate\n", f"  - name: {name}\n"))
    host_vars = yaml.safe_load((source / "host_vars" / "mol-migrate.yml").read_text())
    host_vars["molecule_http_port"] = MOLECULE_PORT
    (scenario / "host_vars").mkdir()
    (scenario / "host_vars" / f"{name}.yml").write_text("---\n" + yaml.safe_dump(host_vars))
    return scenario


def molecule_migrate(version):
    venv = core_venv(version)
    shims = BUILD / f"core-{version}-commands"
    shutil.rmtree(shims, ignore_errors=True)
    shims.mkdir()
    for command in ANSIBLE_COMMANDS:
        (shims / command).symlink_to(venv / "bin" / command)
    scenario = migrate_scenario(version)
    env = clean_env(
        PATH=os.pathsep.join([str(shims), str(REPO_DIR / ".venv" / "bin"), os.environ["PATH"]]),
        # amazon.aws for the controller of this version, as from an installed ansible package
        PYTHONPATH=str(deps_tree()),
        ANSIBLE_COLLECTIONS_PATH=str(BUILD / "collections"),
        MOLECULE_NO_LOG="false",
    )
    # molecule runs ansible-playbook by name: the one this PATH finds must be the version's
    playbook = shutil.which("ansible-playbook", path=env["PATH"])
    reported = run([playbook, "--version"], env=env).stdout
    assert f"[core {version}." in reported, f"{playbook}: {reported}"
    started = time.monotonic()
    try:
        result = run([REPO_DIR / ".venv" / "bin" / "molecule", "test", "-s", scenario.name], env=env, timeout=1800)
    finally:
        shutil.rmtree(scenario, ignore_errors=True)
    seconds = time.monotonic() - started
    log = BUILD / f"molecule-{scenario.name}.log"
    log.write_text(result.stdout + result.stderr)
    log.chmod(0o600)
    return result, seconds, log


@pytest.mark.slow
@MATRIX_ONLY
@pytest.mark.parametrize("version", sorted(MATRIX))
@pytest.mark.parametrize("step", ["unit", "sanity"])
def test_core_version(matrix_results, version, step):
    ok, seconds, detail, _ = matrix_results[version][step]
    assert ok, f"ansible-core {version} {step} failed after {seconds:.0f}s:\n{detail}"


@pytest.mark.slow
@pytest.mark.testbed
@MATRIX_ONLY
@pytest.mark.parametrize("end", [0, 1], ids=["oldest", "newest"])
def test_molecule_migrate(end, s3_server):
    """After the unit and sanity runs (their table is written first, these rows are added)."""
    version = ends()[end]
    result, seconds, log = molecule_migrate(version)
    output = result.stdout + result.stderr
    print(f"molecule migrate under ansible-core {version}: rc {result.returncode} in {seconds:.0f}s ({log})")
    with TABLE.open("a") as table:
        table.write(
            f"| {version} | 3.{MATRIX[version][0]} | molecule migrate "
            f"| {'passed' if result.returncode == 0 else 'FAILED'} | {seconds:.0f} |\n"
        )
    assert s3_server.secret_key not in output, f"the S3 secret key appears in molecule's output ({log})"
    assert result.returncode == 0, f"molecule migrate under {version} failed ({log}):\n{output[-6000:]}"
