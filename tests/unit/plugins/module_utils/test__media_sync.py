"""The engine: push and pull, one plan per direction, in process against moto."""

import os

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_sync as ms
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_errors import (
    MediaSyncError,
    MediaSyncOptionError,
    MediaSyncPathError,
)
from media_fixtures import BUCKET, client, keys, tree  # noqa: F401 - fixtures  # pylint: disable=unused-import


def sync(client, root, **kwargs):  # noqa: F811
    return ms.MediaSync(client, BUCKET, "images", str(root), workers=4, **kwargs).run()


def test_push_uploads_missing_then_nothing(client, tree):  # noqa: F811
    first = sync(client, tree, acl="public-read")
    assert first["stats"]["uploaded"] == 15
    assert first["stats"]["errors"] == 0
    assert len(keys(client)) == 15
    head = client.head_object(Bucket=BUCKET, Key="images/avatars/a b+%?#ü.png")
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=86400"
    second = sync(client, tree)
    assert second["stats"]["uploaded"] == 0
    assert second["stats"]["skipped"] == 15


def test_merge_with_objects_only_in_the_bucket(client, tree):  # noqa: F811
    """Keys only in the bucket, sorting between local ones, are passed over (never deleted)."""
    for key in ["images/a", "images/covers-", "images/covers/c10.jpgx", "images/covers/zz", "images/zzz"]:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"remote only")
    result = sync(client, tree)
    assert result["stats"]["uploaded"] == 15 and result["stats"]["conflicts"] == 0
    assert len(keys(client)) == 20
    assert sync(client, tree)["stats"]["skipped"] == 15


def test_check_mode_moves_nothing(client, tree):  # noqa: F811
    planned = sync(client, tree, check_mode=True)
    assert planned["stats"]["uploaded"] == 15
    assert len(planned["sample"]) == ms.SAMPLE_SIZE
    assert keys(client) == []


def test_check_mode_before_the_bucket_exists(client, tree):  # noqa: F811
    planned = ms.MediaSync(client, "not-yet", "images", str(tree), check_mode=True).run()
    assert planned["stats"]["uploaded"] == 15


def test_resume_uploads_only_what_is_missing(client, tree):  # noqa: F811
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=(tree / "covers" / "c0.jpg").read_bytes())
    result = sync(client, tree)
    assert result["stats"]["uploaded"] == 14
    assert result["stats"]["skipped"] == 1


def test_conflict_is_reported_not_overwritten(client, tree):  # noqa: F811
    original = b"x" * 100
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=original)
    result = sync(client, tree, compare="checksum")
    assert result["stats"]["conflicts"] == 1
    assert result["conflict_files"] == [{"key": "images/covers/c0.jpg", "reason": "content differs"}]
    assert client.get_object(Bucket=BUCKET, Key="images/covers/c0.jpg")["Body"].read() == original
    forced = sync(client, tree, compare="checksum", overwrite=True)
    assert forced["stats"]["uploaded"] == 1


def test_size_differs_is_a_conflict_even_by_size(client, tree):  # noqa: F811
    client.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=b"short")
    result = sync(client, tree)
    assert result["stats"]["conflicts"] == 1


def test_multipart_upload_and_etag_match(client, tmp_path):  # noqa: F811
    root = tmp_path / "big"
    root.mkdir()
    payload = os.urandom(6 * ms.MB + 123)
    (root / "big.bin").write_bytes(payload)
    result = ms.MediaSync(
        client, BUCKET, "images", str(root), multipart_threshold=5 * ms.MB, multipart_chunksize=5 * ms.MB
    ).run()
    assert result["stats"]["uploaded"] == 1
    etag = client.head_object(Bucket=BUCKET, Key="images/big.bin")["ETag"].strip('"')
    assert etag.endswith("-2")
    again = ms.MediaSync(client, BUCKET, "images", str(root), compare="checksum").run()
    assert again["stats"]["skipped"] == 1 and again["stats"]["conflicts"] == 0


def test_pull_restores_tree_atomically(client, tree, tmp_path):  # noqa: F811
    sync(client, tree)
    target = tmp_path / "restored"
    result = ms.MediaSync(client, BUCKET, "images", str(target), direction="pull", workers=4).run()
    assert result["stats"]["downloaded"] == 15
    assert (target / "covers" / "c5.jpg").read_bytes() == (tree / "covers" / "c5.jpg").read_bytes()
    assert not list(target.rglob(".bookwyrm-s3-*"))
    again = ms.MediaSync(client, BUCKET, "images", str(target), direction="pull").run()
    assert again["stats"]["downloaded"] == 0


def test_pull_refuses_keys_that_escape(client, tmp_path):  # noqa: F811
    client.put_object(Bucket=BUCKET, Key="images/../escape.txt", Body=b"x")
    result = ms.MediaSync(client, BUCKET, "images", str(tmp_path / "t"), direction="pull").run()
    assert result["stats"]["errors"] == 1
    assert not (tmp_path / "escape.txt").exists()


def params(path, **overrides):
    base = dict(
        path=str(path),
        direction="push",
        workers=0,
        processes=0,
        progress_interval=10,
        acl="",
        multipart_chunksize_mb=16,
        multipart_threshold_mb=64,
        engine="auto",
    )
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        (dict(workers=300), MediaSyncOptionError, "workers"),
        (dict(processes=-1), MediaSyncOptionError, "processes"),
        (dict(acl="public"), MediaSyncOptionError, "canned ACL"),
        (dict(multipart_chunksize_mb=1), MediaSyncOptionError, "at least 5"),
        (dict(engine="warp"), MediaSyncError, "engine"),
    ],
)
def test_options_raise_typed_errors(tmp_path, overrides, error, match):
    with pytest.raises(error, match=match):
        ms.validate_options(params(tmp_path, **overrides))


def test_missing_path_is_a_path_error(tmp_path):
    with pytest.raises(MediaSyncPathError, match="not a directory"):
        ms.validate_options(params(tmp_path / "nope"))
    ms.validate_options(params(tmp_path / "nope", direction="pull"))  # made by the pull


class _Counted:
    """A sorted stream that counts how far it has been read."""

    def __init__(self, items):
        self.items = items
        self.read = 0

    def __iter__(self):
        for item in self.items:
            self.read += 1
            yield item


def _planner(monkeypatch, local, remote, **kwargs):
    """A MediaSync whose walk and listing are the streams given (no S3, no disk)."""
    from ansible_collections.bookwyrm.s3.plugins.module_utils._media_remote import RemoteObject
    from ansible_collections.bookwyrm.s3.plugins.module_utils._media_tree import LocalFile

    walk = _Counted(LocalFile(rel, "/nonexistent/" + rel, size) for rel, size in local)
    listing = _Counted(RemoteObject(rel, size, etag) for rel, size, etag in remote)
    monkeypatch.setattr(ms, "RemoteListing", lambda *a, **k: listing)
    sync = ms.MediaSync(object(), BUCKET, "images", "/nonexistent", workers=4, **kwargs)
    monkeypatch.setattr(sync.tree, "files", lambda: iter(walk))
    return sync, walk, listing


def test_merge_plan_semantics(monkeypatch):
    """Missing objects move; equal ones are skipped; other content is a conflict, never
    overwritten unless asked; objects only in the bucket are left alone."""
    local = [("a", 1), ("b/1", 2), ("b/2", 3), ("c", 4), ("e", 5)]
    remote = [("0-only-remote", 9, "x"), ("b/1", 2, "e"), ("b/2", 30, "e"), ("d-only-remote", 1, "e"), ("e", 5, "e")]
    sync, _walk, _listing = _planner(monkeypatch, local, remote)
    planned = [(item.relpath, reason) for item, reason in sync.plan()]
    assert planned == [("a", "missing"), ("c", "missing")]
    assert (sync.stats.skipped, sync.stats.conflicts, sync.stats.scanned) == (2, 1, 5)
    assert sync.stats.conflict_files == [{"key": "images/b/2", "reason": "content differs"}]
    sync, _walk, _listing = _planner(monkeypatch, local, remote, overwrite=True)
    planned = [(item.relpath, reason) for item, reason in sync.plan()]
    assert planned == [("a", "missing"), ("b/2", "changed"), ("c", "missing")]


def test_merge_plan_streams_both_sides(monkeypatch):
    """The plan is a streaming merge: it reads the walk and the listing as it goes, so memory
    does not grow with the file count."""
    count = 200000
    local = ((f"covers/{i:07d}.jpg", 10) for i in range(count))
    # every other file is in the bucket already, plus objects only in the bucket
    remote = ((f"covers/{i:07d}.jpg{suffix}", 10, "e") for i in range(0, count, 2) for suffix in ("", "x"))
    sync, walk, listing = _planner(monkeypatch, local, remote)
    plan = sync.plan()
    first = next(plan)
    assert first[0].relpath == "covers/0000001.jpg"
    assert walk.read <= 2 and listing.read <= 4  # nothing read ahead of the merge
    for _index in range(999):
        next(plan)
    assert walk.read <= 2001 and listing.read <= 4002
    assert sum(1 for _item in plan) == count // 2 - 1000
    assert sync.stats.skipped == count // 2 and sync.stats.conflicts == 0
