"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse as YAML, read the way ansible-doc reads
them. Sanity and the publishing checks say so too, but only after a build and minutes of setup;
this fails in the unit run, seconds after the edit that broke a block."""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.plugin_docs import read_docstring

MODULES_DIR = Path(__file__).resolve().parents[4] / "plugins" / "modules"
MODULES = sorted(p for p in MODULES_DIR.glob("*.py") if p.name != "__init__.py")


def test_modules_are_found():
    assert len(MODULES) >= 9, MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_docs_parse(path):
    docs = read_docstring(str(path))
    assert isinstance(docs["doc"], dict) and docs["doc"]["module"] == path.stem
    assert isinstance(docs["returndocs"], dict), "RETURN is empty or not a mapping"
    for name, block in docs["returndocs"].items():
        assert "description" in block and "returned" in block, name
    # EXAMPLES is kept as text by read_docstring; ansible-test parses it as YAML
    assert isinstance(yaml.safe_load(docs["plainexamples"]), list)
