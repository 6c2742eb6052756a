"""Build the collection's documentation site into .build/docs/html (`make docs`).

As a maintainer publishing it would: the tarball of `ansible-galaxy collection build`, installed
as users get it (amazon.aws beside it), a Sphinx project made by `antsibull-docs sphinx-init
--use-current`, the pages by `antsibull-docs collection`, then `sphinx-build -W --keep-going`:
any warning fails the build. The tools are the pinned ones of .build/publish-venv
(requirements-publish.txt).

Nothing is fetched. The pages link into Ansible's own documentation (modules of ansible.builtin
and other collections, common return values, configuration settings) through intersphinx; the
inventory of docs.ansible.com cannot be downloaded here or in CI, so this writes a small one
holding only the labels our pages cite: a collection plugin's label when that plugin exists in
the installed ansible package, the docsite's own labels from ANSIBLE_DOCSITE_LABELS. A cited
label that is neither stays undefined and fails the build (sphinx-init's conf.py is nitpicky).

    .venv/bin/python tools/docs_site.py     # prints the site's index.html
"""

import re
import shutil
import sys
import zlib
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from tests.publish._env import (  # noqa: E402
    BUILD,
    WORK,
    build_artifact,
    bundled_collections,
    clean_env,
    install_artifact,
    publish_venv,
    run,
)

COLLECTION = "bookwyrm.s3"
DOCS = BUILD / "docs"
ANSIBLE_DOCS_URL = "https://docs.ansible.com/projects/ansible/devel/"
# Labels of Ansible's docsite (ansible-documentation, docs/docsite/rst) that antsibull-docs'
# pages cite: label -> (page and anchor under ANSIBLE_DOCS_URL, title).
ANSIBLE_DOCSITE_LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible Configuration Settings",
    ),
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
}
PLUGIN_LABEL = re.compile(r"ansible_collections\.(\w+)\.(\w+)\.(\w+)_(module|filter|lookup|test|inventory|callback)$")
REF = re.compile(r":ref:`(?:[^`<]*<)?([^`<>]+)>?`")


def plugin_exists(namespace, name, plugin, kind):
    """Whether the ansible package installed beside the collection ships this plugin."""
    if (namespace, name) == ("ansible", "builtin"):
        import ansible

        root = Path(ansible.__file__).parent
        return (root / "modules" / f"{plugin}.py").exists() if kind == "module" else (root / "plugins" / kind).is_dir()
    directory = bundled_collections() / "ansible_collections" / namespace / name / "plugins" / f"{kind}s"
    return (directory / f"{plugin}.py").exists()


def ansible_inventory_entries(rst_dir):
    """(label, uri, title) for every label our pages cite that Ansible's docsite defines."""
    defined, cited = set(), set()
    for page in rst_dir.rglob("*.rst"):
        text = page.read_text()
        defined.update(re.findall(r"^\.\. _([^:]+):\s*$", text, flags=re.M))
        cited.update(REF.findall(text))
    entries = []
    for label in sorted(cited - defined):
        if label in ANSIBLE_DOCSITE_LABELS:
            uri, title = ANSIBLE_DOCSITE_LABELS[label]
            entries.append((label, uri, title))
        elif (found := PLUGIN_LABEL.match(label)) and plugin_exists(*found.groups()):
            namespace, name, plugin, kind = found.groups()
            anchor = label.replace(".", "-").replace("_", "-")
            uri = f"collections/{namespace}/{name}/{plugin}_{kind}.html#{anchor}"
            entries.append((label, uri, f"{namespace}.{name}.{plugin} {kind}"))
    return entries


def write_inventory(path, entries):
    """A Sphinx objects.inv (version 2) of std:label entries."""
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
    header += "# The remainder of this file is compressed using zlib.\n"
    body = "".join(f"{label} std:label -1 {uri} {title}\n" for label, uri, title in entries)
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


def private_dir(path):
    """A fresh directory antsibull-docs accepts (owned by us, writable by no one else)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    path.chmod(0o755)
    return path


def check(result, what):
    if result.returncode:
        raise SystemExit(f"{what} failed:\n{result.stdout[-6000:]}{result.stderr[-6000:]}")
    return result


def build():
    """Build the site; returns the html directory."""
    tools = publish_venv() / "bin"
    installed = install_artifact(build_artifact(WORK / "docs-dist"), WORK / "docs-installed")
    env = clean_env(PATH=f"{tools}:/usr/local/bin:/usr/bin:/bin", ANSIBLE_COLLECTIONS_PATH=str(installed.parents[2]))
    DOCS.mkdir(parents=True, exist_ok=True)
    src = private_dir(DOCS / "src")
    version = (installed / "MANIFEST.json").read_text()
    version = re.search(r'"version":\s*"([^"]+)"', version).group(1)
    check(
        run(
            [tools / "antsibull-docs", "sphinx-init", "--use-current", "--fail-on-error", "--dest-dir", src,
             "--project", COLLECTION, "--copyright", "bookwyrm.s3 maintainers",
             "--title", f"{COLLECTION} {version}", "--no-add-antsibull-docs-version", COLLECTION],
            env=env,
        ),
        "antsibull-docs sphinx-init",
    )  # fmt: skip
    rst = src / "rst"  # holds sphinx-init's index.rst, which the cleanup below keeps
    rst.chmod(0o755)
    check(
        run(
            [tools / "antsibull-docs", "--config-file", src / "antsibull-docs.cfg", "collection", "--cleanup",
             "everything", "--fail-on-error", "--use-current", "--dest-dir", rst, COLLECTION],
            env=env,
        ),
        "antsibull-docs collection",
    )  # fmt: skip
    inventory = src / "ansible_devel.inv"
    write_inventory(inventory, ansible_inventory_entries(rst))
    with (src / "conf.py").open("a") as conf:
        conf.write(
            "\n# Written by tools/docs_site.py: Ansible's docs through a local inventory, nothing fetched.\n"
            f"intersphinx_mapping = {{'ansible_devel': ({ANSIBLE_DOCS_URL!r}, {str(inventory)!r})}}\n"
        )
    html = DOCS / "html"
    shutil.rmtree(html, ignore_errors=True)
    doctrees = DOCS / "doctrees"
    shutil.rmtree(doctrees, ignore_errors=True)
    check(
        run(
            [tools / "sphinx-build", "-b", "html", "-c", src, "-d", doctrees, "-W", "--keep-going", "-q", rst, html],
            env=env,
        ),
        "sphinx-build -W",
    )
    return html


if __name__ == "__main__":
    print(build() / "index.html")
