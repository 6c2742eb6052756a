"""The history of the buckets an instance has used, and where a rollback reads media from."""

from ansible_collections.bookwyrm.s3.plugins.filter.bucket_history import (
    bucket_history,
    bucket_verified,
    rollback_buckets,
    unfinished_move,
)

A = {"bucket": "books-a", "endpoint_url": "http://s3.test:8333"}
B = {"bucket": "books-b", "endpoint_url": "http://s3.test:8333/"}
A_ELSEWHERE = {"bucket": "books-a", "endpoint_url": "https://s3.other.test"}


def test_entries_are_added_once_in_order():
    history = bucket_history([], [A, B])
    assert [e["bucket"] for e in history] == ["books-a", "books-b"]
    assert bucket_history(history, [dict(A, first_seen="later"), B]) == history  # a rerun writes the same


def test_same_name_on_another_endpoint_is_another_bucket():
    assert len(bucket_history([A], [A_ELSEWHERE, dict(A, endpoint_url="HTTP://S3.TEST:8333/")])) == 2


def test_entries_without_a_bucket_are_left_out():
    assert bucket_history(None, [{"bucket": "", "endpoint_url": ""}]) == []


def test_the_input_is_not_changed():
    history = [dict(A)]
    bucket_history(history, [B])
    assert history == [A]


def test_rollback_reads_the_current_bucket_first_then_newest_first():
    found = rollback_buckets([A, A_ELSEWHERE, B], current=B)
    assert [(e["bucket"], e["endpoint_url"], e["current"]) for e in found] == [
        ("books-b", B["endpoint_url"], True),
        ("books-a", A_ELSEWHERE["endpoint_url"], False),
        ("books-a", A["endpoint_url"], False),
    ]


def test_rollback_without_history_or_without_a_current_bucket():
    assert rollback_buckets([], current=A)[0]["current"] is True
    assert [e["current"] for e in rollback_buckets([A, B], current={"bucket": ""})] == [False, False]
    assert rollback_buckets([], None) == []


def test_a_move_stays_unfinished_until_verified():
    moved = dict(B, moved_from=A)
    history = [A, moved]
    assert unfinished_move(history, {"bucket": "books-b", "endpoint_url": "http://s3.test:8333"}) == A
    verified = bucket_verified(history, B, "2026-12-02T10:00:00")
    assert verified[1]["verified"] == "2026-12-02T10:00:00" and "verified" not in verified[0]
    assert unfinished_move(verified, B) == {}
    assert bucket_verified(verified, B, "later") == verified  # the first verification stays
    assert history[1] == moved, "the input was changed"


def test_no_unfinished_move_without_one():
    assert unfinished_move([A, B], B) == {}  # B was migrated to from local storage
    assert unfinished_move([], B) == {}
    assert bucket_verified([A], B, "now") == [A]
