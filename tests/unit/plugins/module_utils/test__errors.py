"""Typed errors reach the result once, with botocore's error and the extra fields."""

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import BucketError, CorsError, fail, reported
from botocore.exceptions import ClientError
from fake_aws_module import FailJson, FakeModule


def test_fail_without_botocore_error_is_fail_json_with_the_fields():
    with pytest.raises(FailJson) as failed:
        fail(FakeModule({}), CorsError(message="foreign origin allowed", preflight={"status": 200}))
    assert failed.value.kwargs == {"msg": "foreign origin allowed", "preflight": {"status": 200}}


def test_fail_with_botocore_error_is_fail_json_aws():
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "HeadBucket")
    with pytest.raises(FailJson) as failed:
        fail(FakeModule({}), BucketError(message="Bucket 'b': denied", exception=error))
    assert failed.value.kwargs["msg"] == "Bucket 'b': denied"
    assert failed.value.kwargs["exception"] is error


def test_reported_fails_once_with_the_typed_error():
    with pytest.raises(FailJson) as failed, reported(FakeModule({}), BucketError):
        raise BucketError(message="Bucket 'b': name not valid", hint="lowercase")
    assert failed.value.kwargs == {"msg": "Bucket 'b': name not valid", "hint": "lowercase"}


def test_reported_lets_other_errors_through():
    with pytest.raises(ValueError), reported(FakeModule({}), BucketError):
        raise ValueError("a bug, not a user's mistake: a traceback, not a message")
