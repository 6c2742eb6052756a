"""Every changelog fragment parses and uses antsibull-changelog's sections. antsibull-changelog
lint says so too (tests/publish), after its venv is built; a plain list item holding ': '
parses as a mapping, which is easy to write and broke the publishing checks once."""

from pathlib import Path

import pytest
import yaml

FRAGMENTS = sorted((Path(__file__).resolve().parents[2] / "changelogs" / "fragments").glob("*.y*ml"))
SECTIONS = {
    "release_summary",
    "major_changes",
    "minor_changes",
    "breaking_changes",
    "deprecated_features",
    "removed_features",
    "security_fixes",
    "bugfixes",
    "known_issues",
    "trivial",
}


def test_fragments_are_found():
    assert FRAGMENTS


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_parses_into_known_sections(path):
    fragment = yaml.safe_load(path.read_text())
    assert isinstance(fragment, dict) and set(fragment) <= SECTIONS, sorted(fragment or {})
    for section, entries in fragment.items():
        if section == "release_summary":
            assert isinstance(entries, str)
            continue
        assert isinstance(entries, list), section
        for entry in entries:
            assert isinstance(entry, str), f"{section}: {entry!r} is not text (a ': ' in a plain item?)"


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_leaves_new_plugins_to_the_release(path):
    """antsibull-changelog lists new modules, plugins and roles from their version_added; a
    fragment saying so again is a duplicate (tests/publish's release check, found sooner)."""
    text = path.read_text().lower()
    assert "new module" not in text and " - new role" not in text, "comes from the release"
