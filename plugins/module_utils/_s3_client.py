# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""S3 client settings and error explanations shared by the collection's modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import botocore
    from botocore.config import Config
except ImportError:  # handled by AnsibleAWSModule's own boto3 check
    botocore = None
    Config = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import reported

# What a botocore call raises when the call, not our code, went wrong: the managers catch this.
BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) if botocore else ()

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, kept for sanity tests
    from urlparse import urlsplit  # type: ignore


# Options every module of ours adds to amazon.aws's common ones.
S3_COMPAT_ARGUMENT_SPEC = dict(
    addressing_style=dict(type="str", default="auto", choices=["auto", "path", "virtual"]),
)

# Error codes that mean "this provider does not have that API".
NOT_IMPLEMENTED_CODES = frozenset(
    ["NotImplemented", "MalformedXML", "XNotImplemented", "UnsupportedOperation", "MethodNotAllowed"]
)

# What to do on the provider side when an API is missing there.
PROVIDER_REMEDIES = {
    "cors": (
        "This provider has no per-bucket CORS API. MinIO configures CORS server-wide "
        "(MINIO_API_CORS_ALLOW_ORIGIN=https://DOMAIN on the server); other providers set it in "
        "their console. Set the module's provider_without_cors_api=ignore (role: bookwyrm_s3_cors_mode=skip) "
        "once the server allows the instance's origin."
    ),
    "policy": (
        "This provider has no bucket policy API. Make static/ and images/ publicly readable in the "
        "provider's console, or use public_access=acl where the provider honours object ACLs."
    ),
    "acl": (
        "This provider rejects ACLs (Backblaze B2, AWS buckets with Object Ownership 'bucket owner enforced'). "
        'Use public_access=policy and write AWS_DEFAULT_ACL="" to .env.'
    ),
    "public_access_block": ("This provider has no Public Access Block API; set manage_public_access_block=false."),
}


def s3_config(addressing_style="auto", max_pool_connections=10, max_attempts=8):
    """A botocore Config that works with AWS and with S3-compatible stores.

    botocore >= 1.36 sends CRC checksums by default, which B2 and several stores refuse;
    ``when_required`` keeps Content-MD5 where the API needs it and nothing else.
    """
    kwargs = dict(
        s3={"addressing_style": addressing_style},
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=60,
    )
    try:
        return Config(
            request_checksum_calculation="when_required", response_checksum_validation="when_required", **kwargs
        )
    except TypeError:  # botocore < 1.36 neither sends nor knows the new checksums
        return Config(**kwargs)


def s3_client(module):
    """The S3 client of a bucket-level module: this collection's Config, AWSRetry's backoff
    (calls pass ``aws_retry=True``)."""
    return module.client(
        "s3",
        retry_decorator=AWSRetry.jittered_backoff(),
        config=s3_config(addressing_style=module.params["addressing_style"]),
    )


class S3Manager(object):
    """What the manager of a bucket-level module starts from.

    ``module`` is an AnsibleAWSModule (or anything with ``params``, ``check_mode``, ``region``,
    ``warn``, ``fail_json`` and ``fail_json_aws``); ``client`` an S3 client wrapped with
    AWSRetry (calls pass ``aws_retry=True``).
    """

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.endpoint_url = self.params.get("endpoint_url")
        self.region = module.region
        self.changed = False


def run_manager(manager_class, error_class, argument_spec, **module_options):
    """The main() of a bucket-level module: the arguments checked, one client, the manager's
    ``run()`` as the result, the typed errors it raises (``error_class``) reported once."""
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, **module_options)
    with reported(module, error_class):
        module.exit_json(**manager_class(module, s3_client(module)).run())


def error_code(exc):
    """The S3 error code of a botocore ClientError, or None."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code")


def http_status(exc):
    response = getattr(exc, "response", None) or {}
    return response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def is_not_implemented(exc):
    return error_code(exc) in NOT_IMPLEMENTED_CODES or http_status(exc) == 501


def endpoint_label(endpoint_url):
    """What to call the provider in a message: its host, or AWS."""
    if not endpoint_url:
        return "AWS S3"
    return urlsplit(endpoint_url).netloc or endpoint_url


def explain(exc, operation, endpoint_url=None, feature=None):
    """A message that says what failed and what the user can do about it."""
    code = error_code(exc)
    where = endpoint_label(endpoint_url)
    if feature and is_not_implemented(exc):
        return "%s does not implement %s (%s). %s" % (
            where,
            operation,
            code or http_status(exc),
            PROVIDER_REMEDIES[feature],
        )
    if code in ("InvalidAccessKeyId",):
        return "%s failed at %s: the access key is unknown to this provider (InvalidAccessKeyId). Check access_key." % (
            operation,
            where,
        )
    if code in ("SignatureDoesNotMatch",):
        return (
            "%s failed at %s: the secret key does not match the access key (SignatureDoesNotMatch). Check secret_key."
            % (operation, where)
        )
    if code in ("AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidLocationConstraint"):
        detail = ((getattr(exc, "response", None) or {}).get("Error", {}).get("Message") or "").strip()
        return "%s failed at %s: the provider rejects the region (%s%s). Set region to one this provider accepts." % (
            operation,
            where,
            code,
            ": " + detail if detail else "",
        )
    if code in ("AccessDenied", "AllAccessDisabled") or http_status(exc) == 403:
        return (
            "%s failed at %s: access denied. The bucket may belong to another account, or the key lacks the permission."
            % (operation, where)
        )
    if code in ("NoSuchBucket",):
        return "%s failed at %s: the bucket does not exist." % (operation, where)
    if botocore is not None and isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return "%s failed: cannot connect to %s. Check endpoint_url and that the server is up." % (operation, where)
    return "%s failed at %s: %s" % (operation, where, code or exc)
