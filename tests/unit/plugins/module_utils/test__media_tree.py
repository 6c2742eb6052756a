"""The local walk: links, names, key order."""

import tracemalloc

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_tree as mt
from media_fixtures import tree  # noqa: F401 - fixture  # pylint: disable=unused-import


def test_local_tree_follows_links_only_inside(tree):  # noqa: F811
    local = mt.LocalTree(str(tree))
    names = [f.relpath for f in local.files()]
    assert "inside-link.jpg" in names
    assert "covers/c3.jpg" in names
    assert "empty.txt" in names
    assert not any(n.startswith("dir-link") for n in names)
    assert sorted(local.skipped_symlinks) == ["dangling", "dir-link", "outside-link"]


def test_walk_is_in_s3_key_order(tmp_path):
    """A directory sorts as name + '/': 'a-b' < 'a/x' < 'a0' (UTF-8 byte order)."""
    for rel in ["a/x", "a-b", "a0", "a/y/z", "a/y-", "b", "é", "Z", "a/y/a"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"1")
    names = [f.relpath for f in mt.LocalTree(str(tmp_path)).files()]
    assert names == sorted(names, key=lambda n: n.encode("utf-8"))
    assert names == ["Z", "a-b", "a/x", "a/y-", "a/y/a", "a/y/z", "a0", "b", "é"]


def test_measure(tree):  # noqa: F811
    files, size = mt.LocalTree(str(tree)).measure()
    assert files == 15
    assert size == sum(100 + i for i in range(12)) + 3 + 0 + 101


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.PNG", "image/png"),
        ("f.woff2", "font/woff2"),
        ("x.css", "text/css"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type(name, expected):
    assert mt.content_type(name) == expected


def test_unsafe_keys():
    assert mt.unsafe_key("../x") and mt.unsafe_key("/etc/x") and mt.unsafe_key("a/../../x")
    assert not mt.unsafe_key("a/b..c")


def test_walk_holds_names_not_directory_entries(tmp_path):
    """A big directory (a million-file instance has 75,000 covers in one) costs its names only:
    os.DirEntry objects held for the sort cost about 1 KB each and made the walk grow with it."""
    count = 20000
    for index in range(count):
        (tmp_path / f"{index:032x}.jpg").touch()
    tracemalloc.start()
    try:
        walked = sum(1 for _local in mt.LocalTree(str(tmp_path)).files())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert walked == count
    assert peak < count * 250, f"{peak // count} bytes a file"
