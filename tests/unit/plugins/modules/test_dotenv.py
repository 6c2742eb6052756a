"""The dotenv module end to end: in process (ansible's patch_module_args) and through `ansible -m`."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.bookwyrm.s3.plugins.modules import dotenv
from module_args import patch_module_args  # ansible-core 2.19's, or the same before 2.19

ENV_TEXT = (
    "# BookWyrm\n"
    "SECRET_KEY=django-secret-one\n"
    "DOMAIN=books.example\n"
    "export USE_S3=false\n"
    "USE_S3=false # effective\n"
    "EMAIL_HOST_PASSWORD='mail pw secret'\n"
    "NO_NEWLINE=x"
)
SECRET = "s3cr3t/Value+With=Specials$and spaces"  # noqa: S105 - test data


def run_module(capsys, check_mode=False, diff=False, **args):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        dotenv.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result


def warning_texts(result):
    """Warning texts (ansible 2.19 returns summaries, older releases plain strings)."""
    return [w if isinstance(w, str) else w["event"]["msg"] for w in result.get("warnings", [])]


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ENV_TEXT)
    path.chmod(0o640)
    return path


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_mode_writes_nothing(capsys, env_file):
    before = env_file.read_bytes()
    mtime = os.stat(env_file).st_mtime_ns
    result = run_module(
        capsys, check_mode=True, diff=True, path=str(env_file), set={"USE_S3": "true"}, secrets={"NEW_SECRET": SECRET}
    )
    assert result["rc"] == 0, result
    assert result["changed"] is True
    assert result["changed_keys"] == ["USE_S3", "NEW_SECRET"]
    assert env_file.read_bytes() == before
    assert os.stat(env_file).st_mtime_ns == mtime
    assert sorted(os.listdir(env_file.parent)) == [".env"]
    assert "backup_file" not in result
    assert SECRET not in json.dumps(result)


def test_apply_then_idempotent(capsys, env_file):
    args = dict(path=str(env_file), set={"USE_S3": "true", "AWS_S3_CUSTOM_DOMAIN": "media.example"}, unset=["DOMAIN"])
    result = run_module(capsys, **args)
    assert result["changed"] is True
    assert result["changed_keys"] == ["USE_S3", "AWS_S3_CUSTOM_DOMAIN", "DOMAIN"]
    assert env_file.read_text() == (
        "# BookWyrm\n"
        "SECRET_KEY=django-secret-one\n"
        "USE_S3=true # effective\n"
        "EMAIL_HOST_PASSWORD='mail pw secret'\n"
        "NO_NEWLINE=x\n"
        "AWS_S3_CUSTOM_DOMAIN=media.example\n"
    )
    assert file_mode(env_file) == 0o640  # mode kept
    for check_mode in (True, False):
        again = run_module(capsys, check_mode=check_mode, **args)
        assert again["changed"] is False
        assert again["changed_keys"] == []


def test_secret_values_never_returned_and_masked_in_diff(capsys, env_file):
    result = run_module(capsys, diff=True, path=str(env_file), secrets={"AWS_SECRET_ACCESS_KEY": SECRET})
    assert result["changed"] is True
    assert f"'{SECRET}'" in env_file.read_text()
    dumped = json.dumps(result)
    for secret in (SECRET, "django-secret-one", "mail pw secret"):
        assert secret not in dumped
    (content,) = [d for d in result["diff"] if isinstance(d.get("after"), str)]
    assert content["after"].endswith("AWS_SECRET_ACCESS_KEY=<hidden, changed>\n")
    assert "SECRET_KEY=<hidden>\n" in content["before"]


def test_extra_secret_keys_masked(capsys, env_file):
    result = run_module(capsys, diff=True, path=str(env_file), set={"DOMAIN": "other.example"}, secret_keys=["DOMAIN"])
    diff = json.dumps(result["diff"])
    assert "DOMAIN=<hidden, changed>" in diff
    assert "other.example" not in diff
    assert "books.example" not in diff


def test_secret_looking_key_in_set_warns(capsys, env_file):
    result = run_module(capsys, path=str(env_file), set={"API_TOKEN": "abc"})
    assert any("API_TOKEN" in w and "secrets" in w for w in warning_texts(result))


def test_backup_is_0600(capsys, env_file):
    original = env_file.read_bytes()
    result = run_module(capsys, path=str(env_file), set={"USE_S3": "true"}, backup=True)
    backup = Path(result["backup_file"])
    assert backup.parent == env_file.parent
    assert backup.name.startswith(".env.")
    assert backup.read_bytes() == original
    assert file_mode(backup) == 0o600
    # no change, no backup
    again = run_module(capsys, path=str(env_file), set={"USE_S3": "true"}, backup=True)
    assert "backup_file" not in again
    assert len(list(env_file.parent.iterdir())) == 2


def test_missing_file_fails_without_create(capsys, tmp_path):
    result = run_module(capsys, path=str(tmp_path / ".env"), set={"A": "1"})
    assert result["failed"] is True
    assert "create=true" in result["msg"]
    assert not (tmp_path / ".env").exists()


def test_create_makes_0600_file(capsys, tmp_path, monkeypatch):
    path = tmp_path / ".env"
    result = run_module(capsys, check_mode=True, path=str(path), set={"A": "1"}, create=True)
    assert result["changed"] is True
    assert not path.exists()
    old_umask = os.umask(0o022)
    try:
        result = run_module(capsys, path=str(path), set={"A": "1"}, create=True)
    finally:
        os.umask(old_umask)
    assert result["changed"] is True
    assert path.read_text() == "A=1\n"
    assert file_mode(path) == 0o600
    assert run_module(capsys, path=str(path), set={"A": "1"}, create=True)["changed"] is False


def test_mode_given_tightens(capsys, env_file):
    env_file.chmod(0o644)
    result = run_module(capsys, path=str(env_file), set={"DOMAIN": "books.example"})
    assert result["changed"] is False
    assert any("readable by every user" in w for w in warning_texts(result))
    assert file_mode(env_file) == 0o644
    result = run_module(capsys, check_mode=True, path=str(env_file), mode="0600")
    assert result["changed"] is True
    assert file_mode(env_file) == 0o644
    result = run_module(capsys, path=str(env_file), mode="0600")
    assert result["changed"] is True
    assert file_mode(env_file) == 0o600
    assert run_module(capsys, path=str(env_file), mode="0600")["changed"] is False


def test_symlink_target_is_edited(capsys, env_file):
    link = env_file.parent / "link.env"
    link.symlink_to(env_file.name)
    run_module(capsys, path=str(link), set={"DOMAIN": "x.example"})
    assert link.is_symlink()
    assert "DOMAIN=x.example\n" in env_file.read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(set={"USE_S3": True}), "boolean"),
        (dict(set={"USE_S3": None}), "null"),
        (dict(set={"L": [1]}), "must be a string"),
        (dict(set={"BAD-KEY": "1"}), "A-Za-z_"),
        (dict(unset=["1BAD"]), "A-Za-z_"),
        (dict(set={"A": "1"}, secrets={"A": "2"}), "both set and secrets"),
        (dict(set={"A": "1"}, unset=["A"]), "both set and unset"),
        (dict(secrets={"PW": "it's $x"}), "PW"),
        (dict(set={"MULTI": "a\nb"}), "newline"),
    ],
)
def test_invalid_input_fails_clearly(capsys, env_file, args, message):
    before = env_file.read_bytes()
    result = run_module(capsys, path=str(env_file), **args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "it's $x" not in json.dumps(result)
    assert env_file.read_bytes() == before


def test_numbers_are_converted(capsys, env_file):
    run_module(capsys, path=str(env_file), set={"S3_SIGNED_URL_EXPIRY": 900})
    assert env_file.read_text().endswith("\nS3_SIGNED_URL_EXPIRY=900\n")


def test_directory_is_refused(capsys, tmp_path):
    result = run_module(capsys, path=str(tmp_path), set={"A": "1"})
    assert result["failed"] is True
    assert "not a regular file" in result["msg"]


# ---------------------------------------------------------------- through the ansible CLI


def _ansible(ansible_env, *args):
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local", *args],
        env=ansible_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_secrets_hidden_at_vvv(ansible_env, env_file):
    module_args = json.dumps(
        {"path": str(env_file), "set": {"USE_S3": "true"}, "secrets": {"AWS_SECRET_ACCESS_KEY": SECRET}}
    )
    for extra in (["--check"], []):
        result = _ansible(ansible_env, "-m", "bookwyrm.s3.dotenv", "-a", module_args, "-vvv", "--diff", *extra)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "CHANGED" in output
        assert SECRET not in output
        assert "django-secret-one" not in output
        assert "AWS_SECRET_ACCESS_KEY=<hidden, changed>" in output
    assert f"AWS_SECRET_ACCESS_KEY='{SECRET}'\n" in env_file.read_text()
    result = _ansible(ansible_env, "-m", "bookwyrm.s3.dotenv", "-a", module_args, "-vvv")
    assert result.returncode == 0
    assert "SUCCESS" in result.stdout
    assert SECRET not in result.stdout + result.stderr
