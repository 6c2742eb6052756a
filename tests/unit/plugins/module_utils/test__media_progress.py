"""Counters and the progress file the action plugin polls (its fields must stay)."""

import json

from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_progress as mp
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_sync import MediaSync
from media_fixtures import BUCKET, client, tree  # noqa: F401 - fixtures  # pylint: disable=unused-import

FIELDS = (
    "phase uploaded downloaded bytes bytes_total plan_complete local_files local_bytes scanned "
    "files_per_second mb_per_second skipped errors eta_seconds"
).split()


def test_progress_file(client, tree, tmp_path):  # noqa: F811
    progress = tmp_path / "progress.json"
    MediaSync(client, BUCKET, "images", str(tree), workers=4, progress_path=str(progress)).run()
    record = json.loads(progress.read_text())
    assert record["phase"] == "done"
    assert record["uploaded"] == 15
    assert record["plan_complete"] is True


def test_progress_record_has_the_fields_the_action_plugin_reads(tmp_path):
    stats = mp.SyncStats()
    progress = mp.ProgressFile(str(tmp_path / "p.json"), stats)
    progress.local_files, progress.local_bytes = 10, 1000
    progress.write()
    record = json.loads((tmp_path / "p.json").read_text())
    assert set(FIELDS) <= set(record)


def test_stats_keep_a_sample_only():
    stats = mp.SyncStats()
    for index in range(50):
        stats.record("transferred", str(index))
    assert len(stats.transferred_files) == mp.SAMPLE_SIZE
