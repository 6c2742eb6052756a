"""The media_sync action plugin's progress line (what ansible-playbook shows during a long sync)."""

from ansible_collections.bookwyrm.s3.plugins.action.media_sync import progress_line

MB = 1024 * 1024


def test_progress_line_while_uploading():
    line = progress_line(
        {
            "phase": "uploading",
            "uploaded": 4096,
            "bytes": 200 * MB,
            "bytes_total": 480 * MB,
            "plan_complete": True,
            "files_per_second": 1000.0,
            "mb_per_second": 47.5,
            "eta_seconds": 6.2,
        }
    )
    assert line == "uploading, 4096 files, 200.0 MB of 480.0 MB, 1000.0 files/s, 47.5 MB/s, ETA 6s"


def test_progress_line_while_listing():
    assert progress_line({"phase": "listing"}) == "listing the bucket and the local tree"
