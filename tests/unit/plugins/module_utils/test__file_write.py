"""_file_write: the data replaces the file whole through a temporary file beside it, a new file
never exists with looser permissions than 0600, a failure says which file and leaves nothing."""

import os
import stat

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._file_write import FileWriteError, replace_file


def rename(src, dest):
    os.rename(src, dest)


def test_new_file_is_written_0600_and_nothing_is_left_beside_it(tmp_path):
    target = tmp_path / "report.json"
    modes = []

    def move(src, dest):
        modes.append(stat.S_IMODE(os.stat(dest).st_mode))  # the placeholder the rename replaces
        rename(src, dest)

    replace_file(move, str(target), b"{}\n", exists=False)
    assert target.read_bytes() == b"{}\n" and modes == [0o600]
    assert os.listdir(tmp_path) == ["report.json"]


def test_existing_file_is_replaced(tmp_path):
    target = tmp_path / ".env"
    target.write_bytes(b"OLD=1\n")
    replace_file(rename, str(target), b"NEW=1\n", exists=True, name="/opt/bookwyrm/.env")
    assert target.read_bytes() == b"NEW=1\n" and os.listdir(tmp_path) == [".env"]


def test_a_failed_rename_names_the_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "report.json"

    def refuse(src, dest):
        raise OSError(28, "No space left on device")

    with pytest.raises(FileWriteError, match=r"cannot write shown\.json: No space left on device"):
        replace_file(refuse, str(target), b"{}\n", exists=False, name="shown.json")
    assert os.listdir(tmp_path) == []
