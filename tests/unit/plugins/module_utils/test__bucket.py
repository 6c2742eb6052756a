"""Unit tests of bookwyrm.s3's bucket logic: names, prefixes, the policy merge, and the manager's
API calls and error messages (botocore Stubber; moto for one in-process error path)."""

import json
import re

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.bookwyrm.s3.plugins.module_utils import _bucket
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import BucketError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import PROVIDER_REMEDIES
from ansible_collections.bookwyrm.s3.plugins.modules.bucket import ARGUMENT_SPEC
from fake_aws_module import ENDPOINT, FakeModule

BUCKET = "bookwyrm-media"


def make_params(**overrides):
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(name=BUCKET, endpoint_url=ENDPOINT)
    params.update(overrides)
    return params


def run(s3, **params):
    client, _stubber = s3
    check_mode = params.pop("check_mode", False)
    region = params.pop("region", "us-east-1")
    module = FakeModule(make_params(**params), check_mode=check_mode, region=region)
    return _bucket.BucketManager(module, client).run(), module


def policy_with(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


OURS = _bucket.public_read_statement(BUCKET, ["static/", "images/"])


# --------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    ["abc", "bookwyrm-media", "bookwyrm.example.social", "a" * 63, "0bookwyrm9", "my-bucket-2026", "b.w-m"],
)
def test_valid_bucket_names(name):
    assert _bucket.bucket_name_error(name) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "empty"),
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("BookWyrm", "use lowercase"),
        ("book_wyrm", "'_'"),
        ("book wyrm", "' '"),
        ("-bookwyrm", "start and end"),
        ("bookwyrm-", "start and end"),
        (".bookwyrm", "start and end"),
        ("book..wyrm", "'..'"),
        ("book.-wyrm", "next to a hyphen"),
        ("192.168.5.4", "IP address"),
        ("xn--bookwyrm", "xn--"),
        ("bookwyrm-s3alias", "-s3alias"),
        ("bookwyrm--ol-s3", "--ol-s3"),
        ("sthree-bookwyrm", "sthree-"),
    ],
)
def test_invalid_bucket_names(name, expected):
    error = _bucket.bucket_name_error(name)
    assert error is not None
    assert expected in error


def test_invalid_name_fails_before_any_request(s3):
    with pytest.raises(BucketError) as failure:
        run(s3, name="Bad_Bucket")
    assert "lowercase" in failure.value.message


# --------------------------------------------------------------------------------------- prefixes


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["static/", "images/"], ["static/", "images/"]),
        (["static", "/images"], ["static/", "images/"]),
        (["images/", "images"], ["images/"]),
        (["images/covers/"], ["images/covers/"]),
        (["exportsarchive/"], ["exportsarchive/"]),
        ([], []),
    ],
)
def test_normalize_prefixes(given, expected):
    assert _bucket.normalize_prefixes(given) == (expected, None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["exports/"], "private data"),
        (["static/", "exports"], "exports/"),
        (["/exports/2026/"], "exports/"),
        ([""], "whole bucket"),
        (["/"], "whole bucket"),
        (["//"], "whole bucket"),
        (["images/*"], "wildcard"),
        (["imag?s/"], "wildcard"),
    ],
)
def test_refused_prefixes(given, expected):
    prefixes, error = _bucket.normalize_prefixes(given)
    assert prefixes is None
    assert expected in error


def test_policy_mode_needs_a_prefix(s3):
    with pytest.raises(BucketError, match="at least one"):
        run(s3, public_prefixes=[])


# --------------------------------------------------------------------------------------- location constraint


@pytest.mark.parametrize(
    ("region", "endpoint", "send", "expected"),
    [
        ("eu-west-3", None, "auto", "eu-west-3"),
        ("us-east-1", None, "auto", None),
        ("us-east-1", None, "always", None),
        ("eu-west-3", None, "never", None),
        ("fr-par", "https://s3.fr-par.scw.cloud", "auto", None),
        ("fr-par", "https://s3.fr-par.scw.cloud", "always", "fr-par"),
        ("fr-par", "https://s3.fr-par.scw.cloud", "never", None),
        (None, None, "always", None),
    ],
)
def test_location_constraint(region, endpoint, send, expected):
    assert _bucket.location_constraint(region, endpoint, send) == expected


# --------------------------------------------------------------------------------------- policy merge


def test_statement_allows_only_getobject_on_prefixes():
    statement = _bucket.public_read_statement(BUCKET, ["static/", "images/"])
    assert statement == {
        "Sid": "BookWyrmPublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::bookwyrm-media/static/*", "arn:aws:s3:::bookwyrm-media/images/*"],
    }


def test_merge_into_no_policy():
    changed, policy = _bucket.merge_statement(None, OURS)
    assert changed
    assert policy == {"Version": "2012-10-17", "Statement": [OURS]}


def test_merge_keeps_other_statements_in_order():
    other = {
        "Sid": "CDN",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::1:role/cdn"},
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::bookwyrm-media/*",
    }
    unnamed = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    changed, policy = _bucket.merge_statement({"Version": "2008-10-17", "Statement": [other, unnamed]}, OURS)
    assert changed
    assert policy["Version"] == "2008-10-17"
    assert policy["Statement"] == [other, unnamed, OURS]


def test_merge_replaces_outdated_statement_in_place():
    outdated = dict(OURS, Resource="arn:aws:s3:::bookwyrm-media/static/*")
    other = {
        "Sid": "Other",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bookwyrm-media/shared/*",
    }
    changed, policy = _bucket.merge_statement({"Statement": [outdated, other]}, OURS)
    assert changed
    assert policy["Statement"] == [OURS, other]
    assert policy["Version"] == "2012-10-17"


@pytest.mark.parametrize(
    "spelling",
    [
        dict(OURS),
        dict(OURS, Principal={"AWS": "*"}),
        dict(OURS, Principal={"AWS": ["*"]}),
        dict(OURS, Action=["s3:GetObject"]),
        dict(OURS, Resource=list(reversed(OURS["Resource"]))),
    ],
)
def test_merge_recognizes_equal_statement_spelled_otherwise(spelling):
    policy = {"Version": "2012-10-17", "Statement": [spelling]}
    changed, _policy = _bucket.merge_statement(policy, OURS)
    assert not changed


def test_merge_single_statement_dict_and_duplicates():
    changed, policy = _bucket.merge_statement({"Statement": dict(OURS)}, OURS)
    assert not changed
    assert policy["Statement"] == [OURS]
    changed, policy = _bucket.merge_statement({"Statement": [OURS, OURS]}, OURS)
    assert changed
    assert policy["Statement"] == [OURS]


def test_merge_does_not_modify_its_input():
    original = {"Statement": [dict(OURS, Resource="x")]}
    snapshot = json.dumps(original)
    _bucket.merge_statement(original, OURS)
    assert json.dumps(original) == snapshot


@pytest.mark.parametrize(
    ("statement", "flagged"),
    [
        (
            {
                "Sid": "List",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::bookwyrm-media",
            },
            True,
        ),
        (
            {
                "Sid": "All",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bookwyrm-media/*",
            },
            True,
        ),
        (
            {
                "Sid": "Role",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::1:root"},
                "Action": "s3:*",
                "Resource": "*",
            },
            False,
        ),
        ({"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}, False),
        (OURS, False),
    ],
)
def test_public_listing_statements(statement, flagged):
    found = _bucket.public_listing_statements({"Statement": [statement]}, BUCKET)
    assert bool(found) is flagged


# --------------------------------------------------------------------------------------- manager: API calls


def expect_head(stubber, status=200, code=None, headers=None):
    if code is None:
        response = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers or {}}}
        stubber.add_response("head_bucket", response, {"Bucket": BUCKET})
    else:
        stubber.add_client_error(
            "head_bucket",
            service_error_code=code,
            http_status_code=status,
            expected_params={"Bucket": BUCKET},
            response_meta={"HTTPHeaders": headers or {}},
        )


def test_create_on_custom_endpoint(s3):
    _client, stubber = s3
    expect_head(stubber, 404, "404")
    stubber.add_response("create_bucket", {}, {"Bucket": BUCKET})
    stubber.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": policy_with(OURS)})
    result, _module = run(s3)
    assert result["changed"]
    assert result["bucket"]["created"]
    assert result["bucket"]["policy_statement"] == OURS
    assert result["diff"]["before"] == {"exists": False, "policy_statement": None}
    assert result["diff"]["after"] == {"exists": True, "policy_statement": OURS}
    assert result["changes"] == ["created", "policy_statement"]


def test_create_on_aws_sends_location_constraint(s3):
    _client, stubber = s3
    expect_head(stubber, 404, "404")
    stubber.add_response(
        "create_bucket", {}, {"Bucket": BUCKET, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-3"}}
    )
    result, _module = run(s3, endpoint_url=None, region="eu-west-3", public_access="none")
    assert result["changed"]
    assert result["bucket"]["region"] == "eu-west-3"


def test_check_mode_makes_no_write(s3):
    _client, stubber = s3
    expect_head(stubber, 404, "404")  # and nothing else: Stubber fails on any other call
    result, _module = run(s3, check_mode=True, object_ownership="BucketOwnerEnforced", manage_public_access_block=True)
    assert result["changed"]
    assert result["diff"]["after"]["object_ownership"] == "BucketOwnerEnforced"
    assert result["diff"]["after"]["policy_statement"] == OURS
    assert result["changes"] == ["created", "object_ownership", "public_access_block", "policy_statement"]


def test_existing_bucket_with_statement_is_unchanged(s3):
    _client, stubber = s3
    expect_head(stubber, headers={"x-amz-bucket-region": "eu-central-1"})
    stubber.add_response("get_bucket_policy", {"Policy": policy_with(OURS)}, {"Bucket": BUCKET})
    result, module = run(s3)
    assert not result["changed"]
    assert result["bucket"]["region"] == "eu-central-1"
    assert result["diff"]["before"] == result["diff"]["after"]
    assert result["changes"] == []
    assert module.warnings == []


def test_existing_bucket_gets_statement_merged(s3):
    _client, stubber = s3
    other = {
        "Sid": "Keep",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bookwyrm-media/shared/*",
    }
    expect_head(stubber)
    stubber.add_response("get_bucket_policy", {"Policy": policy_with(other)}, {"Bucket": BUCKET})
    stubber.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": policy_with(other, OURS)})
    result, _module = run(s3)
    assert result["changed"]
    assert result["changes"] == ["policy_statement"]


@pytest.mark.parametrize("mode", ["none", "acl"])
def test_only_needed_apis_without_policy(s3, mode):
    _client, stubber = s3
    expect_head(stubber)
    result, _module = run(s3, public_access=mode)
    assert not result["changed"]
    assert result["bucket"]["policy_statement"] is None


def test_warns_about_public_listing(s3):
    _client, stubber = s3
    listing = {
        "Sid": "Listing",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::bookwyrm-media",
    }
    expect_head(stubber)
    stubber.add_response("get_bucket_policy", {"Policy": policy_with(listing, OURS)}, {"Bucket": BUCKET})
    result, module = run(s3)
    assert not result["changed"]
    assert "Listing" in module.warnings[0]


def test_ownership_controls(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_response(
        "get_bucket_ownership_controls",
        {"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}},
        {"Bucket": BUCKET},
    )
    stubber.add_response(
        "put_bucket_ownership_controls",
        {},
        {"Bucket": BUCKET, "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
    )
    result, _module = run(s3, public_access="none", object_ownership="BucketOwnerEnforced")
    assert result["changed"]
    assert result["diff"]["before"]["object_ownership"] == "ObjectWriter"


def test_ownership_controls_not_found(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_client_error("get_bucket_ownership_controls", "OwnershipControlsNotFoundError", http_status_code=404)
    stubber.add_response("put_bucket_ownership_controls", {})
    result, _module = run(s3, public_access="none", object_ownership="BucketOwnerPreferred")
    assert result["changed"]


def test_ownership_controls_refused_by_ceph_rgw(s3):
    """RGW 16.2 reads ownership controls as empty and answers a put with 400 InvalidArgument."""
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_response("get_bucket_ownership_controls", {"OwnershipControls": {"Rules": []}}, {"Bucket": BUCKET})
    stubber.add_client_error("put_bucket_ownership_controls", "InvalidArgument", http_status_code=400)
    with pytest.raises(BucketError) as failed:
        run(s3, public_access="none", object_ownership="BucketOwnerPreferred")
    assert "does not implement PutBucketOwnershipControls (InvalidArgument)" in failed.value.message
    assert "Leave object_ownership unset" in failed.value.message


@pytest.mark.parametrize(
    ("mode", "current", "wanted"),
    [
        ("policy", (True, True, True, True), (True, True, False, False)),
        ("policy", (False, False, True, True), (False, False, False, False)),
        ("acl", (True, True, True, True), (False, False, True, True)),
        ("none", (False, False, False, False), (True, True, True, True)),
    ],
)
def test_public_access_block(s3, mode, current, wanted):
    _client, stubber = s3
    current = dict(zip(_bucket.PAB_KEYS, current))
    wanted = dict(zip(_bucket.PAB_KEYS, wanted))
    expect_head(stubber)
    stubber.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": current}, {"Bucket": BUCKET})
    stubber.add_response("put_public_access_block", {}, {"Bucket": BUCKET, "PublicAccessBlockConfiguration": wanted})
    if mode == "policy":
        stubber.add_response("get_bucket_policy", {"Policy": policy_with(OURS)}, {"Bucket": BUCKET})
    result, _module = run(s3, public_access=mode, manage_public_access_block=True)
    assert result["changed"]
    assert result["bucket"]["public_access_block"] == wanted


# --------------------------------------------------------------------------------------- manager: error codes


@pytest.mark.parametrize(
    ("operation", "code", "status", "expected"),
    [
        ("head_bucket", "403", 403, ["another account", "Choose another name", BUCKET]),
        ("head_bucket", "301", 301, ["another region"]),
        ("head_bucket", "InvalidAccessKeyId", 403, ["access key is unknown"]),
        (
            "get_bucket_policy",
            "NotImplemented",
            501,
            ["does not implement GetBucketPolicy", PROVIDER_REMEDIES["policy"]],
        ),
        ("get_bucket_policy", "MethodNotAllowed", 405, ["does not implement", "public_access=acl"]),
        ("get_bucket_policy", "AccessDenied", 403, ["access denied"]),
        ("get_bucket_policy", "SignatureDoesNotMatch", 403, ["Check secret_key"]),
        ("put_bucket_policy", "NotImplemented", 501, [PROVIDER_REMEDIES["policy"]]),
        ("put_bucket_policy", "AccessDenied", 403, ["manage_public_access_block=true"]),
        ("put_bucket_policy", "MalformedPolicy", 400, ["MalformedPolicy"]),
    ],
)
def test_error_messages_on_existing_bucket(s3, operation, code, status, expected):
    _client, stubber = s3
    if operation == "head_bucket":
        expect_head(stubber, status, code)
    else:
        expect_head(stubber)
        if operation == "get_bucket_policy":
            stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
        else:
            stubber.add_client_error("get_bucket_policy", "NoSuchBucketPolicy", http_status_code=404)
            stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
    with pytest.raises(BucketError) as failure:
        run(s3)
    for text in expected:
        assert text in failure.value.message


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("BucketAlreadyExists", 409, ["belongs to another account", "choose another name", BUCKET]),
        ("InvalidLocationConstraint", 400, ["send_location_constraint=never"]),
        ("IllegalLocationConstraintException", 400, ["LocationConstraint"]),
        ("InvalidBucketName", 400, ["refused the name"]),
        ("AccessDenied", 403, ["access denied"]),
        ("TooManyBuckets", 400, ["TooManyBuckets"]),
    ],
)
def test_error_messages_on_create(s3, code, status, expected):
    _client, stubber = s3
    expect_head(stubber, 404, "404")
    stubber.add_client_error("create_bucket", service_error_code=code, http_status_code=status)
    with pytest.raises(BucketError) as failure:
        run(s3, public_access="none")
    for text in expected:
        assert text in failure.value.message
    assert failure.value.exception is not None


def test_bucket_already_owned_by_you_is_fine(s3):
    _client, stubber = s3
    expect_head(stubber, 404, "404")
    stubber.add_client_error("create_bucket", "BucketAlreadyOwnedByYou", http_status_code=409)
    result, _module = run(s3, public_access="none")
    assert not result["changed"]
    assert result["changes"] == []


@pytest.mark.parametrize("code", ["NotImplemented", "XNotImplemented"])
def test_public_access_block_not_implemented(s3, code):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_client_error("get_public_access_block", code, http_status_code=501)
    with pytest.raises(BucketError) as failure:
        run(s3, manage_public_access_block=True)
    assert PROVIDER_REMEDIES["public_access_block"] in failure.value.message


def test_ownership_not_implemented(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_client_error("get_bucket_ownership_controls", "NotImplemented", http_status_code=501)
    with pytest.raises(BucketError, match="Leave object_ownership unset"):
        run(s3, object_ownership="BucketOwnerEnforced")


# --------------------------------------------------------------------------------------- manager: CORS

ORIGINS = ["https://books.example.social", "https://www.books.example.social"]
CORS_API_RULE = {
    "AllowedOrigins": ORIGINS,
    "AllowedMethods": ["GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000,
}


def test_cors_rule_for_the_origins_is_put(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_client_error("get_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    stubber.add_response("put_bucket_cors", {}, {"Bucket": BUCKET, "CORSConfiguration": {"CORSRules": [CORS_API_RULE]}})
    result, _module = run(s3, public_access="none", cors_origins=ORIGINS)
    assert result["changed"] and result["changes"] == ["cors_rules"]
    assert result["bucket"]["cors_rules"][0]["allowed_origins"] == ORIGINS
    assert result["diff"]["before"]["cors_rules"] == []


def test_cors_rule_in_another_order_is_kept(s3):
    """The comparison is bucket_cors's: origins, methods and headers in any order, any case."""
    _client, stubber = s3
    expect_head(stubber)
    spelled_otherwise = dict(
        CORS_API_RULE, AllowedOrigins=ORIGINS[::-1], AllowedMethods=["head", "get"], ExposeHeaders=["etag"]
    )
    stubber.add_response("get_bucket_cors", {"CORSRules": [spelled_otherwise]}, {"Bucket": BUCKET})
    result, _module = run(s3, public_access="none", cors_origins=ORIGINS)
    assert not result["changed"] and result["changes"] == []


def test_cors_check_mode_of_a_missing_bucket_plans_the_rule(s3):
    """One check-mode call (the role's preflight) lists every change, CORS included, and writes nothing."""
    _client, stubber = s3
    expect_head(stubber, 404, "404")  # and nothing else: Stubber fails on any other call
    result, _module = run(s3, check_mode=True, cors_origins=ORIGINS)
    assert result["changes"] == ["created", "policy_statement", "cors_rules"]


def test_cors_left_alone_when_unset(s3):
    _client, stubber = s3
    expect_head(stubber)  # no GetBucketCors
    result, _module = run(s3, public_access="none")
    assert not result["changed"] and "cors_rules" not in result["bucket"]


@pytest.mark.parametrize(
    "origins, expected",
    [
        ([], "cors_origins is empty"),
        (["books.example.social"], "cors_origins: origin 'books.example.social'"),
        (["https://books.example.social/path"], "cors_origins: origin"),
    ],
)
def test_cors_origins_refused_before_any_request(s3, origins, expected):
    with pytest.raises(BucketError, match=re.escape(expected)):
        run(s3, cors_origins=origins)


def test_cors_api_missing_says_what_to_do(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_client_error("get_bucket_cors", "NotImplemented", http_status_code=501)
    with pytest.raises(BucketError) as failure:
        run(s3, public_access="none", cors_origins=ORIGINS)
    assert PROVIDER_REMEDIES["cors"] in failure.value.message
    assert "leave cors_origins unset" in failure.value.message


def test_moto_cors_applied_then_idempotent(moto_s3):
    wrapped = RetryingBotoClientWrapper(moto_s3, AWSRetry.jittered_backoff(retries=1, delay=0))
    module = FakeModule(make_params(endpoint_url=None, public_access="none", cors_origins=ORIGINS), region="us-east-1")
    first = _bucket.BucketManager(module, wrapped).run()
    second = _bucket.BucketManager(module, wrapped).run()
    assert first["changes"] == ["created", "cors_rules"]
    assert not second["changed"]
    assert moto_s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"][0]["AllowedOrigins"] == ORIGINS


# --------------------------------------------------------------------------------------- manager: absent


def test_absent_missing_bucket(s3):
    _client, stubber = s3
    expect_head(stubber, 404, "404")
    result, _module = run(s3, state="absent")
    assert not result["changed"]
    assert result["diff"] == {"before": {"exists": False}, "after": {"exists": False}}


def expect_empty(stubber):
    stubber.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": BUCKET, "MaxKeys": 1})
    stubber.add_response("list_object_versions", {}, {"Bucket": BUCKET, "MaxKeys": 1})
    stubber.add_response("list_multipart_uploads", {}, {"Bucket": BUCKET, "MaxUploads": 1})


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_empty_bucket(s3, check_mode):
    _client, stubber = s3
    expect_head(stubber)
    expect_empty(stubber)
    if not check_mode:
        stubber.add_response("delete_bucket", {}, {"Bucket": BUCKET})
    result, _module = run(s3, state="absent", check_mode=check_mode)
    assert result["changed"]
    assert result["bucket"]["deleted"]
    assert result["changes"] == ["deleted"]


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        ({"list_objects_v2": {"KeyCount": 1, "Contents": [{"Key": "images/a.jpg"}]}}, "images/a.jpg"),
        (
            {"list_objects_v2": {"KeyCount": 0}, "list_object_versions": {"Versions": [{"Key": "old.jpg"}]}},
            "old.jpg (an old version)",
        ),
        (
            {"list_objects_v2": {"KeyCount": 0}, "list_object_versions": {"DeleteMarkers": [{"Key": "gone.jpg"}]}},
            "gone.jpg",
        ),
        (
            {
                "list_objects_v2": {"KeyCount": 0},
                "list_object_versions": {},
                "list_multipart_uploads": {"Uploads": [{"Key": "big.bin"}]},
            },
            "unfinished multipart upload",
        ),
    ],
)
def test_absent_refuses_non_empty_bucket_without_deleting(s3, listing, expected):
    _client, stubber = s3
    expect_head(stubber)
    for operation, response in listing.items():
        stubber.add_response(operation, response)
    with pytest.raises(BucketError) as failure:  # and no delete_bucket call: Stubber would fail on it
        run(s3, state="absent")
    assert "not empty" in failure.value.message
    assert expected in failure.value.message


def test_absent_without_versioning_api(s3):
    _client, stubber = s3
    expect_head(stubber)
    stubber.add_response("list_objects_v2", {"KeyCount": 0})
    stubber.add_client_error("list_object_versions", "NotImplemented", http_status_code=501)
    stubber.add_client_error("list_multipart_uploads", "NotImplemented", http_status_code=501)
    stubber.add_response("delete_bucket", {})
    result, _module = run(s3, state="absent")
    assert result["changed"]


def test_absent_bucket_not_empty_race(s3):
    _client, stubber = s3
    expect_head(stubber)
    expect_empty(stubber)
    stubber.add_client_error("delete_bucket", "BucketNotEmpty", http_status_code=409)
    with pytest.raises(BucketError, match="never deletes objects"):
        run(s3, state="absent")


# --------------------------------------------------------------------------------------- moto: error paths in process


@pytest.fixture
def moto_s3(monkeypatch):
    moto = pytest.importorskip("moto")
    for key, value in dict(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        AWS_DEFAULT_REGION="us-east-1",
    ).items():
        monkeypatch.setenv(key, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        yield client


def test_moto_absent_non_empty_then_empty(moto_s3):
    moto_s3.create_bucket(Bucket=BUCKET)
    moto_s3.put_object(Bucket=BUCKET, Key="exports/user.zip", Body=b"private")
    wrapped = RetryingBotoClientWrapper(moto_s3, AWSRetry.jittered_backoff(retries=1, delay=0))
    module = FakeModule(make_params(state="absent", endpoint_url=None))
    with pytest.raises(BucketError, match=r"exports/user\.zip"):
        _bucket.BucketManager(module, wrapped).run()
    assert moto_s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    moto_s3.delete_object(Bucket=BUCKET, Key="exports/user.zip")
    result = _bucket.BucketManager(module, wrapped).run()
    assert result["changed"]
    assert BUCKET not in [b["Name"] for b in moto_s3.list_buckets()["Buckets"]]


def test_moto_create_then_idempotent(moto_s3):
    wrapped = RetryingBotoClientWrapper(moto_s3, AWSRetry.jittered_backoff(retries=1, delay=0))
    module = FakeModule(make_params(endpoint_url=None, public_access="policy"), region="us-east-1")
    first = _bucket.BucketManager(module, wrapped).run()
    second = _bucket.BucketManager(module, wrapped).run()
    assert first["changed"] and first["bucket"]["created"]
    assert not second["changed"]
    policy = json.loads(moto_s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["BookWyrmPublicRead"]
