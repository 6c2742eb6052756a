"""After playbooks/reclaim.yml (run twice): the media the bucket holds byte for byte are gone
from the disk and listed in the manifest, the one that differs in the bucket is kept, and an old
/images/ link answers with a redirect to the same bytes in the bucket. After
playbooks/rollback.yml: every file is back, byte for byte, with its mode and owner."""

import hashlib
import json
import urllib.error
import urllib.request
from urllib.parse import quote

from moltest import ephemeral_dir

MANIFEST = "bookwyrm-s3-reclaimed.jsonl"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, follow: bool = True) -> tuple[int, dict, bytes]:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=15) as response:  # the bed's loopback URLs
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def manifest(target) -> list:
    text, _mode = target.read_instance_file(MANIFEST)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def old_link(target, path: str) -> str:
    return f"{target.url}images/{quote(path)}"


# ---------------------------------------------------------------------------- after the reclaim


def test_files_the_bucket_holds_are_gone_the_differing_one_stays(reclaimed, target, before, tampered):
    assert len(before) >= 90, "the instance was seeded with about 100 media files"
    local = target.local_media()
    assert local == {tampered}, f"left on the disk: {sorted(local)[:10]}"


def test_manifest_lists_every_removed_file(reclaimed, target, before, tampered):
    _text, mode = target.read_instance_file(MANIFEST)
    assert mode == 0o600
    entries = manifest(target)
    assert len(entries) == len(before) - 1, "one line per removed file, none twice (the second run added none)"
    for entry in entries:
        size, md5, file_mode, uid, gid = before[entry["path"]]
        assert (entry["size"], entry["md5"], entry["key"]) == (size, md5, "images/" + entry["path"])
        assert (entry["mode"], entry["uid"], entry["gid"]) == (file_mode, uid, gid)
    assert tampered not in {e["path"] for e in entries}


def test_report_counts_files_and_bytes(reclaimed, target, before, tampered):
    first = json.loads((ephemeral_dir() / "first-reclaim-report.json").read_text())["phases"]
    assert first["reclaim"]["status"] == "ok" and first["verify"]["status"] == "ok"
    assert int(first["reclaim"]["removed"]) == len(before) - 1
    assert int(first["reclaim"]["bytes_freed"]) == sum(v[0] for k, v in before.items() if k != tampered)
    assert int(first["reclaim"]["kept"]) == 1 and first["reclaim"]["kept_files"][0]["path"] == tampered
    again = target.report()["phases"]["reclaim"]
    assert int(again["removed"]) == 0, "the second run (idempotence) removed nothing"


def test_old_links_redirect_to_the_same_bytes(reclaimed, target, before):
    paths = sorted(p for p in before if p.startswith("covers/"))[:2] + sorted(p for p in before if "/" not in p)[:1]
    for path in paths:
        status, headers, _ = get(old_link(target, path), follow=False)
        assert status in (301, 302), f"{path}: {status}"
        assert headers["Location"] == f"{target.storage_url}/images/{quote(path)}"
        status, _headers, body = get(headers["Location"])
        assert status == 200
        assert (len(body), hashlib.md5(body).hexdigest()) == tuple(before[path][:2])  # noqa: S324


def test_page_still_served(reclaimed, target):
    status, _headers, body = get(target.url + "?molecule=reclaim")
    assert status == 200 and target.storage_url.encode() in body


def test_bucket_keeps_every_object(reclaimed, target, before):
    keys = target.keys("images/")
    assert {"images/" + path for path in before} <= keys


# ---------------------------------------------------------------------------- after the rollback


def test_every_file_is_back_byte_for_byte_with_mode_and_owner(after_rollback, before):
    after = json.loads((ephemeral_dir() / "media-after-rollback.json").read_text())
    differ = {path: (before[path], after.get(path)) for path in before if after.get(path) != before[path]}
    assert not differ, f"{len(differ)} files not as before, e.g. {list(differ.items())[:3]}"


def test_redirect_gone_and_local_serving(after_rollback, target, before):
    if hasattr(target, "snippet_exists"):  # dockerless: nginx's conf.d
        assert not target.snippet_exists()
    else:  # compose: the override and the snippet beside .env
        assert not target.instance_file_exists("docker-compose.override.yml")
        assert not target.instance_file_exists("bookwyrm-s3-nginx.conf")
    path = sorted(p for p in before if p.startswith("covers/"))[0]
    status, _headers, body = get(old_link(target, path), follow=False)
    assert status == 200 and hashlib.md5(body).hexdigest() == before[path][1]  # noqa: S324
    assert target.env().get("USE_S3", "false") == "false"


def test_rollback_report_counts_the_restored_files(after_rollback, target, before):
    phase = target.report()["phases"]["rollback"]
    assert phase["status"] == "ok"
    assert int(phase["reclaimed_restored"]) == len(before) - 1
