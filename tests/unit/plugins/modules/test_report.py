"""The report module: the JSON document written whole, nothing written when it is there already,
check mode writes nothing, the file's mode applied, a missing directory refused with a message."""

import json
import os
import stat

import pytest
from ansible_collections.bookwyrm.s3.plugins.modules import report
from module_args import patch_module_args  # ansible-core 2.19's, or the same before 2.19

CONTENT = {"action": "migrate", "phases": {"verify": {"status": "ok", "seconds": 0.8}}, "check_mode": False}


def run_module(capsys, check_mode=False, diff=False, **args):
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)), pytest.raises(SystemExit):
        report.main()
    return json.loads(capsys.readouterr().out)


def test_written_then_left_alone(capsys, tmp_path):
    path = tmp_path / "report.json"
    result = run_module(capsys, path=str(path), content=CONTENT, mode="0600")
    assert result["changed"] is True and result["path"] == str(path)
    assert json.loads(path.read_text()) == CONTENT and path.read_text().endswith("}\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_module(capsys, path=str(path), content=CONTENT, mode="0600")
    assert again["changed"] is False
    assert sorted(os.listdir(tmp_path)) == ["report.json"]  # no temporary file left beside it


def test_other_content_replaces_the_file(capsys, tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"action": "audit"}\n')
    result = run_module(capsys, diff=True, path=str(path), content=CONTENT)
    assert result["changed"] is True and json.loads(path.read_text()) == CONTENT
    assert result["diff"]["before"] == '{"action": "audit"}\n' and json.loads(result["diff"]["after"]) == CONTENT


def test_a_mode_alone_is_a_change(capsys, tmp_path):
    path = tmp_path / "report.json"
    run_module(capsys, path=str(path), content=CONTENT, mode="0600")
    result = run_module(capsys, path=str(path), content=CONTENT, mode="0640")
    assert result["changed"] is True and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_check_mode_writes_nothing(capsys, tmp_path):
    path = tmp_path / "report.json"
    result = run_module(capsys, check_mode=True, path=str(path), content=CONTENT)
    assert result["changed"] is True and not path.exists()


def test_missing_directory_is_refused(capsys, tmp_path):
    result = run_module(capsys, path=str(tmp_path / "nowhere" / "report.json"), content=CONTENT)
    assert result["failed"] is True and "directory" in result["msg"] and "nowhere" in result["msg"]


def test_content_must_be_a_mapping(capsys, tmp_path):
    result = run_module(capsys, path=str(tmp_path / "report.json"), content="not a report")
    assert result["failed"] is True and "content" in result["msg"]
