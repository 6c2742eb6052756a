"""Fixtures shared by the module_utils tests of the S3 managers."""

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import s3_config
from botocore.stub import Stubber
from fake_aws_module import ENDPOINT


@pytest.fixture
def s3():
    """A real botocore S3 client that never sends (Stubber), wrapped as module.client() wraps it.
    Yields (client, stubber); every queued response must have been used."""
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",  # noqa: S106 - a dummy
        config=s3_config(addressing_style="path"),
    )
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1, delay=0)), stubber
        stubber.assert_no_pending_responses()
