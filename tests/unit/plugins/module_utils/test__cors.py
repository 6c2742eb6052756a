"""Unit tests of bookwyrm.s3's CORS logic: input validation, order-insensitive comparison, the
manager's API calls and error paths (botocore Stubber), and the preflight check against a local
HTTP server."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _cors
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import CorsError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import PROVIDER_REMEDIES
from ansible_collections.bookwyrm.s3.plugins.modules.bucket_cors import ARGUMENT_SPEC
from fake_aws_module import ENDPOINT, FakeModule

BUCKET = "bookwyrm-media"
DOMAIN = "bookwyrm.example.social"
DEFAULT_API = {
    "CORSRules": [
        {
            "AllowedOrigins": ["https://bookwyrm.example.social", "https://www.bookwyrm.example.social"],
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3000,
        }
    ]
}


def make_params(**overrides):
    params = {key: spec.get("default") for key, spec in ARGUMENT_SPEC.items()}
    params.update(bucket=BUCKET, endpoint_url=ENDPOINT, domain=DOMAIN, validate_certs=True, aws_ca_bundle=None)
    params.update(overrides)
    return params


def run(s3, preflight_func=None, **params):
    client, _stubber = s3
    check_mode = params.pop("check_mode", False)
    module = FakeModule(make_params(**params), check_mode=check_mode)
    manager = _cors.CorsManager(module, client, preflight_func=preflight_func)
    manager.preflight_attempts = 2
    manager.preflight_delay = 0
    return manager.run(), module


# --------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("domain", ["bookwyrm.social", "localhost", "books.example.co.uk", "bw.example:8443", "a-b.c"])
def test_valid_domains(domain):
    assert _cors.domain_error(domain) is None


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("https://bookwyrm.social", "'bookwyrm.social'"),
        ("bookwyrm.social/", "has a path"),
        ("bookwyrm.social/books", "'bookwyrm.social'"),
        ("bookwyrm.social:https", "invalid port"),
        ("book wyrm.social", "not a host name"),
        ("*.bookwyrm.social", "not a host name"),
        ("", "empty"),
    ],
)
def test_invalid_domains(domain, expected):
    assert expected in _cors.domain_error(domain)


@pytest.mark.parametrize(
    "origin",
    [
        "https://bookwyrm.social",
        "http://localhost:8000",
        "https://*.bookwyrm.social",
        "*",
        "http://[::1]:8080",
        "https://www.bookwyrm.social",
    ],
)
def test_valid_origins(origin):
    assert _cors.origin_error(origin) is None


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("bookwyrm.social", "no scheme"),
        ("https://bookwyrm.social/", "trailing slash"),
        ("https://bookwyrm.social/static", "'https://bookwyrm.social'"),
        ("https://bookwyrm.social?x=1", "query"),
        ("ftp://bookwyrm.social", "http or https"),
        ("https://user@bookwyrm.social", "user information"),
        ("https://bookwyrm.social:abc", "invalid port"),
        ("https://", "not a host name"),
    ],
)
def test_invalid_origins(origin, expected):
    assert expected in _cors.origin_error(origin)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"allowed_origins": [], "allowed_methods": ["GET"]}, "allowed_origins"),
        ({"allowed_origins": ["https://a.test"], "allowed_methods": []}, "allowed_methods"),
        ({"allowed_origins": ["https://a.test"], "allowed_methods": ["PATCH"]}, "'PATCH'"),
        ({"allowed_origins": ["https://a.test"], "allowed_methods": ["OPTIONS"]}, "GET, HEAD, PUT, POST, DELETE"),
        ({"allowed_origins": ["https://a.test/x"], "allowed_methods": ["GET"]}, "path"),
        ({"allowed_origins": ["https://a.test"], "allowed_methods": ["GET"], "max_age_seconds": -1}, "max_age"),
    ],
)
def test_invalid_rules(rule, expected):
    with pytest.raises(ValueError, match=expected):
        _cors.normalize_rule(rule)


def test_normalize_rule_uppercases_and_dedupes():
    rule = _cors.normalize_rule(
        {"allowed_origins": ["https://a.test", "https://a.test"], "allowed_methods": ["get", "Head", "GET"]}
    )
    assert rule == {
        "allowed_origins": ["https://a.test"],
        "allowed_methods": ["GET", "HEAD"],
        "allowed_headers": [],
        "expose_headers": [],
        "max_age_seconds": None,
    }


def test_default_rules():
    assert _cors.default_rules(DOMAIN, ["https://read.example.social"]) == [
        {
            "allowed_origins": [
                "https://bookwyrm.example.social",
                "https://www.bookwyrm.example.social",
                "https://read.example.social",
            ],
            "allowed_methods": ["GET", "HEAD"],
            "allowed_headers": ["*"],
            "expose_headers": ["ETag"],
            "max_age_seconds": 3000,
        }
    ]
    assert _cors.default_rules("www.example.social")[0]["allowed_origins"] == ["https://www.example.social"]


# --------------------------------------------------------------------------------------- comparison

RULE_A = {
    "allowed_origins": ["https://a.test", "https://b.test"],
    "allowed_methods": ["GET", "HEAD"],
    "allowed_headers": ["*"],
    "expose_headers": ["ETag"],
    "max_age_seconds": 3000,
}
RULE_B = {"allowed_origins": ["https://up.test"], "allowed_methods": ["PUT"]}


@pytest.mark.parametrize(
    "other",
    [
        [dict(RULE_A)],
        [dict(RULE_A, allowed_origins=["https://b.test", "https://a.test"])],
        [dict(RULE_A, allowed_methods=["head", "get"])],
        [dict(RULE_A, expose_headers=["Etag"])],
        [dict(RULE_A, allowed_origins=["https://a.test", "https://b.test", "https://a.test"])],
    ],
)
def test_equal_single_rule(other):
    assert _cors.rules_equal([RULE_A], other)


def test_rules_compared_as_a_set_and_missing_lists_are_empty():
    b_spelled = {
        "allowed_origins": ["https://up.test"],
        "allowed_methods": ["put"],
        "allowed_headers": [],
        "expose_headers": None,
        "max_age_seconds": 0,
    }
    assert _cors.rules_equal([RULE_A, RULE_B], [b_spelled, RULE_A])
    assert _cors.rules_equal([], None)


@pytest.mark.parametrize(
    "other",
    [
        [dict(RULE_A, allowed_origins=["https://a.test"])],
        [dict(RULE_A, allowed_methods=["GET"])],
        [dict(RULE_A, max_age_seconds=600)],
        [dict(RULE_A, allowed_headers=[])],
        [RULE_A, RULE_B],
        [],
    ],
)
def test_different_rules(other):
    assert not _cors.rules_equal([RULE_A], other)


def test_api_round_trip():
    rules = [_cors.normalize_rule(RULE_A), _cors.normalize_rule(RULE_B)]
    api = _cors.to_api(rules)
    assert api["CORSRules"][1] == {"AllowedOrigins": ["https://up.test"], "AllowedMethods": ["PUT"]}
    assert _cors.rules_equal(_cors.from_api(api["CORSRules"]), rules)


@pytest.mark.parametrize(
    ("endpoint", "bucket", "expected"),
    [
        ("http://s3.test:8333", "bw", "http://s3.test:8333/bw/static/bookwyrm-cors-preflight-check"),
        ("http://s3.test:8333/", "bw", "http://s3.test:8333/bw/static/bookwyrm-cors-preflight-check"),
        (None, "bw", "https://bw.s3.eu-west-3.amazonaws.com/static/bookwyrm-cors-preflight-check"),
        (None, "b.w", "https://s3.eu-west-3.amazonaws.com/b.w/static/bookwyrm-cors-preflight-check"),
    ],
)
def test_object_url(endpoint, bucket, expected):
    assert _cors.object_url(bucket, endpoint, "eu-west-3") == expected


# --------------------------------------------------------------------------------------- manager


def test_present_sets_default_rules(s3):
    _client, stubber = s3
    stubber.add_client_error("get_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    stubber.add_response("put_bucket_cors", {}, {"Bucket": BUCKET, "CORSConfiguration": DEFAULT_API})
    result, _module = run(s3)
    assert result["changed"]
    assert result["diff"]["before"] == {"rules": []}
    assert len(result["diff"]["after"]["rules"]) == 1
    assert "preflight" not in result


def test_present_unchanged_when_same_rules_in_other_order(s3):
    _client, stubber = s3
    rule = dict(DEFAULT_API["CORSRules"][0])
    rule.update(
        AllowedOrigins=list(reversed(rule["AllowedOrigins"])),
        AllowedMethods=["HEAD", "GET"],
        ExposeHeaders=["Etag"],
        ID="set-by-another-tool",
    )
    stubber.add_response("get_bucket_cors", {"CORSRules": [rule]}, {"Bucket": BUCKET})
    result, _module = run(s3)
    assert not result["changed"]


def test_check_mode_does_not_write(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    result, _module = run(s3, check_mode=True, verify_preflight=True)
    assert result["changed"]
    assert result["preflight"]["skipped"]
    assert "check mode" in result["preflight"]["msg"]


def test_absent_is_idempotent(s3):
    _client, stubber = s3
    stubber.add_client_error("get_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    result, _module = run(s3, state="absent", domain=None)
    assert not result["changed"]
    assert result["rules"] == []


def test_absent_on_missing_bucket(s3):
    _client, stubber = s3
    stubber.add_client_error("get_bucket_cors", "NoSuchBucket", http_status_code=404)
    result, _module = run(s3, state="absent", domain=None)
    assert not result["changed"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_deletes(s3, check_mode):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    if not check_mode:
        stubber.add_response("delete_bucket_cors", {}, {"Bucket": BUCKET})
    result, _module = run(s3, state="absent", domain=None, check_mode=check_mode)
    assert result["changed"]
    assert result["diff"]["after"] == {"rules": []}


def test_absent_delete_race(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    stubber.add_client_error("delete_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    result, _module = run(s3, state="absent", domain=None)
    assert not result["changed"]


def test_present_needs_domain_or_rules(s3):
    with pytest.raises(CorsError, match="needs domain"):
        run(s3, domain=None)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"domain": "https://bookwyrm.social"}, "bare host name"),
        ({"extra_origins": ["read.example.social"]}, "extra_origins: origin"),
        ({"domain": None, "rules": [{"allowed_origins": ["https://a.test"], "allowed_methods": ["TRACE"]}]}, "TRACE"),
    ],
)
def test_invalid_input_fails_before_any_request(s3, params, expected):
    with pytest.raises(CorsError, match=expected):
        run(s3, **params)


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("get_bucket_cors", "NotImplemented", 501),
        ("get_bucket_cors", "MalformedXML", 400),
        ("put_bucket_cors", "NotImplemented", 501),
        ("put_bucket_cors", "MalformedXML", 400),
    ],
)
def test_provider_without_cors_api_fails_with_remedy(s3, operation, code, status):
    _client, stubber = s3
    if operation == "put_bucket_cors":
        stubber.add_client_error("get_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
    with pytest.raises(CorsError) as failure:
        run(s3)
    assert PROVIDER_REMEDIES["cors"] in failure.value.message
    assert "MINIO_API_CORS_ALLOW_ORIGIN" in failure.value.message
    assert code in failure.value.message


@pytest.mark.parametrize("operation", ["get_bucket_cors", "put_bucket_cors", "delete_bucket_cors"])
def test_provider_without_cors_api_ignored(s3, operation):
    _client, stubber = s3
    state = "absent" if operation == "delete_bucket_cors" else "present"
    if operation == "put_bucket_cors":
        stubber.add_client_error("get_bucket_cors", "NoSuchCORSConfiguration", http_status_code=404)
    if operation == "delete_bucket_cors":
        stubber.add_response("get_bucket_cors", DEFAULT_API)
    stubber.add_client_error(operation, service_error_code="NotImplemented", http_status_code=501)
    result, module = run(s3, provider_without_cors_api="ignore", state=state, verify_preflight=True)
    assert not result["changed"]
    assert not result["cors_api"]
    assert "does not implement" in module.warnings[0]
    assert result["preflight"]["skipped"]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "access denied"),
        ("NoSuchBucket", 404, "create it first"),
        ("InvalidAccessKeyId", 403, "Check access_key"),
    ],
)
def test_error_messages(s3, code, status, expected):
    _client, stubber = s3
    stubber.add_client_error("get_bucket_cors", service_error_code=code, http_status_code=status)
    with pytest.raises(CorsError) as failure:
        run(s3)
    assert expected in failure.value.message
    assert BUCKET in failure.value.message


# --------------------------------------------------------------------------------------- verify_preflight


def fake_preflight(answers):
    """A preflight function answering per origin: allowed (echo) or refused (403)."""
    calls = []

    def preflight(url, origin, method="GET", **_tls):
        calls.append((url, origin))
        if answers.get(origin, False):
            return {
                "status": 200,
                "headers": {
                    "access-control-allow-origin": answers[origin] if isinstance(answers[origin], str) else origin
                },
            }
        return {"status": 403, "headers": {"vary": "Origin"}}

    preflight.calls = calls
    return preflight


def test_verify_passes(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    func = fake_preflight({"https://bookwyrm.example.social": True})
    result, _module = run(s3, preflight_func=func, verify_preflight=True)
    assert result["preflight"]["origin"]["allowed"]
    assert not result["preflight"]["foreign"]["allowed"]
    assert result["preflight"]["foreign"]["status"] == 403
    assert func.calls[0] == (
        ENDPOINT + "/" + BUCKET + "/static/bookwyrm-cors-preflight-check",
        "https://bookwyrm.example.social",
    )
    assert func.calls[1][1] == "https://cors-check.invalid"


def test_verify_uses_preflight_url(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    func = fake_preflight({"https://bookwyrm.example.social": True})
    result, _module = run(s3, preflight_func=func, verify_preflight=True, preflight_url="https://cdn.test/static/a.css")
    assert result["preflight"]["url"] == "https://cdn.test/static/a.css"


def test_verify_fails_when_foreign_origin_allowed(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    func = fake_preflight({"https://bookwyrm.example.social": True, "https://cors-check.invalid": True})
    with pytest.raises(CorsError) as failure:
        run(s3, preflight_func=func, verify_preflight=True)
    assert "foreign origin" in failure.value.message
    assert failure.value.kwargs["preflight"]["foreign"]["allowed"]


def test_verify_fails_when_origin_refused(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)
    func = fake_preflight({})
    with pytest.raises(CorsError) as failure:
        run(s3, preflight_func=func, verify_preflight=True)
    assert "without Access-Control-Allow-Origin" in failure.value.message
    assert len(func.calls) == 4  # retried once (providers apply CORS changes with a delay)


def test_verify_star_counts_as_allowed_and_skips_foreign_for_wildcards(s3):
    _client, stubber = s3
    stubber.add_response(
        "get_bucket_cors", {"CORSRules": [{"AllowedOrigins": ["https://a.test", "*"], "AllowedMethods": ["GET"]}]}
    )
    func = fake_preflight({"https://a.test": "*"})
    result, _module = run(
        s3,
        preflight_func=func,
        verify_preflight=True,
        domain=None,
        rules=[{"allowed_origins": ["https://a.test", "*"], "allowed_methods": ["GET"]}],
    )
    assert result["preflight"]["origin"]["allowed"]
    assert "foreign" not in result["preflight"]


def test_verify_connection_error(s3):
    _client, stubber = s3
    stubber.add_response("get_bucket_cors", DEFAULT_API)

    def refused(*_args, **_kwargs):
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(CorsError, match="connection refused"):
        run(s3, preflight_func=refused, verify_preflight=True)


# --------------------------------------------------------------------------------------- real HTTP preflight


class CorsHandler(BaseHTTPRequestHandler):
    allowed = "https://bookwyrm.example.social"

    def do_OPTIONS(self):
        origin = self.headers.get("Origin")
        if origin == self.allowed and self.headers.get("Access-Control-Request-Method") == "GET":
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "GET, HEAD")
        else:
            self.send_response(403)
        self.send_header("Vary", "Origin")
        self.send_header("X-Other", "not returned")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def cors_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CorsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_preflight_over_http(cors_server):
    url = cors_server + "/bucket/static/x.css?v=1"
    allowed = _cors.preflight(url, "https://bookwyrm.example.social")
    refused = _cors.preflight(url, _cors.FOREIGN_ORIGIN)
    assert allowed == {
        "status": 200,
        "headers": {
            "access-control-allow-origin": "https://bookwyrm.example.social",
            "access-control-allow-methods": "GET, HEAD",
            "vary": "Origin",
        },
    }
    assert _cors.origin_allowed(allowed, "https://bookwyrm.example.social")
    assert refused["status"] == 403
    assert not _cors.origin_allowed(refused, _cors.FOREIGN_ORIGIN)


def test_preflight_rejects_other_schemes():
    with pytest.raises(ValueError, match="http or https"):
        _cors.preflight("ftp://127.0.0.1/x", "https://a.test")
