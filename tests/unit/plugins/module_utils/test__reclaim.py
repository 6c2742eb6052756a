"""Reclaiming local media the bucket holds, and bringing it back, against moto."""

import hashlib
import json
import os

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _reclaim
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError
from media_fixtures import BUCKET, client  # noqa: F401 - fixtures  # pylint: disable=unused-import


def make_tree(root, count=6):
    files = {}
    for index in range(count):
        rel = f"covers/c{index}.jpg"
        data = os.urandom(50 + index)
        (root / "covers").mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        files[rel] = data
    return files


def upload(client, files, prefix="images"):  # noqa: F811
    for rel, data in files.items():
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{rel}", Body=data)


@pytest.fixture
def setup(tmp_path, client):  # noqa: F811
    root = tmp_path / "media"
    files = make_tree(root)
    upload(client, files)
    return client, root, files, str(tmp_path / "manifest.jsonl")


def reclaimer(client, root, manifest, **kw):  # noqa: F811
    return _reclaim.Reclaimer(client, BUCKET, str(root), manifest, **kw)


def test_check_mode_lists_files_and_bytes_and_removes_nothing(setup):
    s3, root, files, manifest = setup
    result = reclaimer(s3, root, manifest, check_mode=True).reclaim()
    assert result["removed"] == len(files)
    assert result["bytes_freed"] == sum(len(d) for d in files.values())
    assert sorted(result["removed_sample"]) == sorted(files)
    assert result["changed"]
    assert all((root / rel).exists() for rel in files)
    assert not os.path.exists(manifest)


def test_reclaim_removes_files_writes_manifest_then_changes_nothing(setup):
    s3, root, files, manifest = setup
    (root / "covers" / "c0.jpg").chmod(0o640)
    result = reclaimer(s3, root, manifest).reclaim()
    assert result["changed"] and result["removed"] == len(files) and result["kept"] == 0
    assert not any((root / rel).exists() for rel in files)
    assert (root / "covers").is_dir()  # directories stay
    assert os.stat(manifest).st_mode & 0o777 == 0o600
    entries = [json.loads(line) for line in open(manifest)]
    by_path = {e["path"]: e for e in entries}
    assert set(by_path) == set(files)
    for rel, data in files.items():
        entry = by_path[rel]
        assert entry["size"] == len(data)
        assert entry["md5"] == hashlib.md5(data).hexdigest()  # noqa: S324
        assert entry["key"] == "images/" + rel
    assert by_path["covers/c0.jpg"]["mode"] == "0640"
    again = reclaimer(s3, root, manifest).reclaim()
    assert not again["changed"] and again["removed"] == 0
    assert len(open(manifest).readlines()) == len(files)


def test_missing_or_changed_objects_keep_the_file(setup):
    s3, root, files, manifest = setup
    s3.delete_object(Bucket=BUCKET, Key="images/covers/c1.jpg")
    s3.put_object(Bucket=BUCKET, Key="images/covers/c2.jpg", Body=b"x" * len(files["covers/c2.jpg"]))
    s3.put_object(Bucket=BUCKET, Key="images/covers/c3.jpg", Body=b"shorter")
    (root / "covers" / "new.jpg").write_bytes(b"only here")
    result = reclaimer(s3, root, manifest).reclaim()
    kept = {k["path"]: k["reason"] for k in result["kept_files"]}
    assert set(kept) == {"covers/c1.jpg", "covers/c2.jpg", "covers/c3.jpg", "covers/new.jpg"}
    assert "missing" in kept["covers/c1.jpg"]
    assert "differs" in kept["covers/c2.jpg"]
    assert "bytes" in kept["covers/c3.jpg"]
    for rel in kept:
        assert (root / rel).exists()
    assert result["removed"] == len(files) - 3
    assert result["streamed"] == 1  # the same-size different object was read back before deciding


@pytest.mark.parametrize(
    ("first_part", "streamed"),
    [(5 * 1024 * 1024, 0), (5 * 1024 * 1024 + 512 * 1024, 1)],
    ids=["part-size-guessed-etag-computed", "odd-part-size-object-streamed"],
)
def test_multipart_object_is_compared_by_reading_back(tmp_path, client, first_part, streamed):  # noqa: F811
    root = tmp_path / "media"
    root.mkdir()
    data = os.urandom(6 * 1024 * 1024)
    (root / "big.png").write_bytes(data)
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key="images/big.png")["UploadId"]
    parts = []
    for number, chunk in enumerate((data[:first_part], data[first_part:]), 1):
        part = client.upload_part(
            Bucket=BUCKET, Key="images/big.png", UploadId=upload_id, PartNumber=number, Body=chunk
        )
        etag = part["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    client.complete_multipart_upload(
        Bucket=BUCKET, Key="images/big.png", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert "-" in client.head_object(Bucket=BUCKET, Key="images/big.png")["ETag"]
    result = reclaimer(client, root, str(tmp_path / "m.jsonl")).reclaim()
    assert result["removed"] == 1 and result["streamed"] == streamed
    assert not (root / "big.png").exists()


def test_restore_brings_every_file_back_byte_for_byte(setup):
    s3, root, files, manifest = setup
    (root / "covers" / "c0.jpg").chmod(0o640)
    reclaimer(s3, root, manifest).reclaim()
    (root / "covers").rmdir()  # even an emptied directory removed by hand
    check = reclaimer(s3, root, manifest, check_mode=True).restore()
    assert check["restored"] == len(files) and check["changed"]
    assert not (root / "covers").exists()
    result = reclaimer(s3, root, manifest).restore()
    assert result["restored"] == len(files) and result["changed"]
    for rel, data in files.items():
        assert (root / rel).read_bytes() == data
    assert (root / "covers" / "c0.jpg").stat().st_mode & 0o777 == 0o640
    again = reclaimer(s3, root, manifest).restore()
    assert not again["changed"] and again["present"] == len(files)
    assert not [p for p in (root / "covers").iterdir() if p.name.startswith(".bookwyrm-s3-")]


def test_restore_fails_when_the_bucket_lost_a_file_and_keeps_a_local_conflict(setup):
    s3, root, files, manifest = setup
    reclaimer(s3, root, manifest).reclaim()
    s3.delete_object(Bucket=BUCKET, Key="images/covers/c4.jpg")
    (root / "covers" / "c5.jpg").write_bytes(b"written since")
    with pytest.raises(ReclaimError, match="could not be brought back") as info:
        reclaimer(s3, root, manifest).restore()
    assert [f["path"] for f in info.value.kwargs["failed"]] == ["covers/c4.jpg"]
    assert info.value.kwargs["conflicts"][0]["path"] == "covers/c5.jpg"
    assert (root / "covers" / "c5.jpg").read_bytes() == b"written since"
    assert (root / "covers" / "c0.jpg").read_bytes() == files["covers/c0.jpg"]


def test_module_manager_check_mode_diff_and_warnings(setup):
    from ansible_collections.bookwyrm.s3.plugins.modules.reclaim import ARGUMENT_SPEC, ReclaimManager
    from fake_aws_module import FakeModule

    s3, root, files, manifest = setup
    s3.put_object(Bucket=BUCKET, Key="images/covers/c0.jpg", Body=b"other")
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(path=str(root), bucket=BUCKET, manifest=manifest, report_limit=2)
    module = FakeModule(params, check_mode=True)
    result = ReclaimManager(module, s3).run()
    assert result["changed"] and result["removed"] == len(files) - 1
    assert result["diff"]["before"].endswith(f"... and {len(files) - 3} more\n")
    assert result["diff"]["after"] == ""
    assert module.warnings == ["kept covers/c0.jpg: 5 bytes in the bucket, 50 here"]
    assert all((root / rel).exists() for rel in files)


def test_links_are_left_alone(setup):
    s3, root, files, manifest = setup
    (root / "link.jpg").symlink_to(root / "covers" / "c1.jpg")
    s3.put_object(Bucket=BUCKET, Key="images/link.jpg", Body=files["covers/c1.jpg"])
    result = reclaimer(s3, root, manifest).reclaim()
    assert result["removed"] == len(files) and (root / "link.jpg").is_symlink()
    assert "link.jpg" not in {json.loads(line)["path"] for line in open(manifest)}
