"""The host_info module: read-only, in check mode too, no secret in its result."""

import json

import pytest
from ansible_collections.bookwyrm.s3.plugins.modules import host_info
from module_args import patch_module_args  # ansible-core 2.19's, or the same before 2.19


def run(capsys, tmp_path, check_mode=False, **args):
    args = dict(dict(instance_dir=str(tmp_path), history_path=str(tmp_path / "history.json")), **args)
    with patch_module_args(dict(args, _ansible_check_mode=check_mode)), pytest.raises(SystemExit):
        host_info.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True])
def test_reads_and_changes_nothing(capsys, tmp_path, check_mode):
    (tmp_path / ".env").write_text("DOMAIN=books.example.com\nSECRET_KEY=abc123\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(capsys, tmp_path, check_mode=check_mode, web_unit="no-such-unit-here.service")
    assert result["changed"] is False and result["env"] == {"DOMAIN": "books.example.com"}
    assert "abc123" not in json.dumps(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_unreadable_history_fails_with_what_to_do(capsys, tmp_path):
    (tmp_path / "history.json").write_text("[1, 2")
    result = run(capsys, tmp_path)
    assert result["failed"] and "restore it from a backup" in result["msg"]
