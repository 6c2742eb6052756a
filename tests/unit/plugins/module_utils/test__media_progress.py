"""Counters and the progress file the action plugin polls (its fields must stay)."""

import json
import time

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


def test_eta_walk_waits_for_something_to_move(tmp_path):
    walks = []
    stats = mp.SyncStats()
    progress = mp.ProgressFile(str(tmp_path / "p.json"), stats, interval=0.01)
    progress.measure = lambda: walks.append(1) or (10, 1000)
    with progress:
        time.sleep(0.1)  # a resync comparing: nothing planned yet
        assert walks == []
        stats.add(bytes_total=100)  # the first missing file
        deadline = time.monotonic() + 5
        while not walks and time.monotonic() < deadline:
            time.sleep(0.01)
    assert walks == [1] and progress.local_bytes == 1000
