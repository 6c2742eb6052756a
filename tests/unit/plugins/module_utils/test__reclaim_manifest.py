"""The manifest of a reclaim (plugins/module_utils/_reclaim_manifest.py): appended entries, the
files gone from the disk, a line edited by hand."""

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _reclaim_manifest
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError


def test_manifest_gone_and_bad_lines(tmp_path):
    manifest = _reclaim_manifest.Manifest(str(tmp_path / "m.jsonl"))
    assert list(manifest.entries()) == []
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "here.jpg").write_bytes(b"x")
    manifest.append(
        [
            dict(path="gone.jpg", size=1, md5="0" * 32, key="images/gone.jpg"),
            dict(path="here.jpg", size=1, md5="0" * 32, key="images/here.jpg"),
        ]
    )
    assert [e["path"] for e in manifest.gone(str(tmp_path / "media"), limit=5)] == ["gone.jpg"]
    with open(manifest.path, "a") as handle:
        handle.write("not json\n")
    with pytest.raises(ReclaimError, match="Line 3"):
        list(manifest.entries())
