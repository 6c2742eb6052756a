"""_report: the text is what to_nice_json writes (sorted, indented by 4) with a final newline,
an absent file reads as None."""

import json

from ansible.plugins.filter.core import to_nice_json
from ansible_collections.bookwyrm.s3.plugins.module_utils._report import read_text, render


def test_render_is_to_nice_json_with_a_newline():
    report = {"phases": {"media_copy": {"counts": {"uploaded": 3}}}, "action": "migrate", "check_mode": False}
    assert render(report) == to_nice_json(report) + "\n"
    assert json.loads(render(report)) == report


def test_read_text_of_no_file_is_none(tmp_path):
    assert read_text(str(tmp_path / "absent.json")) is None
    (tmp_path / "there.json").write_text("{}\n")
    assert read_text(str(tmp_path / "there.json")) == "{}\n"
