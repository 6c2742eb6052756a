# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The logic of bookwyrm.s3.bucket_cors: rule validation and order-insensitive comparison,
the manager, and a real CORS preflight check with the standard library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from urllib.error import HTTPError
from urllib.parse import quote, urlsplit

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import CorsError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import (
    BOTO_ERRORS,
    S3Manager,
    error_code,
    explain,
    is_not_implemented,
)

ALLOWED_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
DEFAULT_METHODS = ["GET", "HEAD"]
DEFAULT_HEADERS = ["*"]
DEFAULT_EXPOSE = ["ETag"]
DEFAULT_MAX_AGE = 3000
FOREIGN_ORIGIN = "https://cors-check.invalid"
PREFLIGHT_KEY = "static/bookwyrm-cors-preflight-check"

RULE_KEYS = (
    ("allowed_origins", "AllowedOrigins"),
    ("allowed_methods", "AllowedMethods"),
    ("allowed_headers", "AllowedHeaders"),
    ("expose_headers", "ExposeHeaders"),
)

_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")


# ---------------------------------------------------------------------------------------------
# Input rules
# ---------------------------------------------------------------------------------------------


def _valid_host(host):
    return bool(_HOST.match(host) or _IPV6.match(host))


def domain_error(domain):
    """Why ``domain`` is not a bare host name (BookWyrm's DOMAIN), or None."""
    if not domain:
        return "domain is empty: give the instance's DOMAIN, for example 'bookwyrm.example.social'."
    if "://" in domain:
        return (
            "domain %r has a scheme; give the bare host name as in BookWyrm's DOMAIN setting, for example %r "
            "(the module adds https://)." % (domain, urlsplit(domain).netloc or domain.split("://", 1)[1])
        )
    if "/" in domain or "?" in domain or "#" in domain:
        return "domain %r has a path; give the bare host name as in BookWyrm's DOMAIN setting, for example %r." % (
            domain,
            re.split(r"[/?#]", domain, maxsplit=1)[0],
        )
    host, _sep, port = domain.partition(":")
    if port and not port.isdigit():
        return "domain %r has an invalid port %r." % (domain, port)
    if not _valid_host(host) or host.startswith("*."):
        return "domain %r is not a host name (letters, digits, hyphens and dots)." % domain
    return None


def origin_error(origin):
    """Why ``origin`` is not a CORS origin (scheme://host[:port]), or None."""
    if origin == "*":
        return None
    if not isinstance(origin, str) or "://" not in origin:
        return "origin %r has no scheme; an origin is scheme://host[:port], for example 'https://%s'." % (
            origin,
            origin,
        )
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https"):
        return "origin %r: the scheme must be http or https." % origin
    if parts.path not in ("",) or parts.query or parts.fragment or origin.endswith("?") or origin.endswith("#"):
        return (
            "origin %r has a path, query or trailing slash; browsers send origins as scheme://host[:port], "
            "so use %r." % (origin, "%s://%s" % (parts.scheme, parts.netloc))
        )
    if parts.username or parts.password or "@" in parts.netloc:
        return "origin %r must not contain user information." % origin
    host = parts.netloc
    if host.startswith("["):
        host, _sep, port = host.partition("]")
        host += "]"
        port = port.lstrip(":")
    else:
        host, _sep, port = host.partition(":")
    if port and not port.isdigit():
        return "origin %r has an invalid port." % origin
    if not host or not _valid_host(host):
        return "origin %r: %r is not a host name." % (origin, host)
    return None


def normalize_rule(rule):
    """A rule in the module's form with validated, normalized values. Raises ValueError."""
    origins = list(rule.get("allowed_origins") or [])
    methods = [m.upper() for m in (rule.get("allowed_methods") or [])]
    if not origins:
        raise ValueError("each CORS rule needs at least one entry in allowed_origins.")
    if not methods:
        raise ValueError("each CORS rule needs at least one entry in allowed_methods (BookWyrm needs GET and HEAD).")
    for origin in origins:
        error = origin_error(origin)
        if error:
            raise ValueError(error)
    for method in methods:
        if method not in ALLOWED_METHODS:
            raise ValueError(
                "allowed_methods contains %r; S3 CORS accepts only %s (BookWyrm needs GET and HEAD)."
                % (method, ", ".join(ALLOWED_METHODS))
            )
    max_age = rule.get("max_age_seconds")
    if max_age is not None and max_age < 0:
        raise ValueError("max_age_seconds must be 0 or more, got %r." % max_age)
    return dict(
        allowed_origins=_unique(origins),
        allowed_methods=_unique(methods),
        allowed_headers=_unique(rule.get("allowed_headers") or []),
        expose_headers=_unique(rule.get("expose_headers") or []),
        max_age_seconds=max_age,
    )


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def bookwyrm_rule(origins):
    """BookWyrm's rule: ``origins`` may GET and HEAD (fonts, scripts) and read ETag."""
    return dict(
        allowed_origins=_unique(origins),
        allowed_methods=list(DEFAULT_METHODS),
        allowed_headers=list(DEFAULT_HEADERS),
        expose_headers=list(DEFAULT_EXPOSE),
        max_age_seconds=DEFAULT_MAX_AGE,
    )


def default_rules(domain, extra_origins=None):
    """BookWyrm's rule for the instance's origins (https://DOMAIN, https://www.DOMAIN) and more."""
    origins = ["https://%s" % domain]
    if not domain.startswith("www."):
        origins.append("https://www.%s" % domain)
    origins.extend(extra_origins or [])
    return [bookwyrm_rule(origins)]


# ---------------------------------------------------------------------------------------------
# Comparison and conversion
# ---------------------------------------------------------------------------------------------


def rule_key(rule):
    """A hashable, order-insensitive form of one rule (module form)."""
    return (
        tuple(sorted(set(rule.get("allowed_origins") or []))),
        tuple(sorted(set(m.upper() for m in rule.get("allowed_methods") or []))),
        # header names are case-insensitive in HTTP
        tuple(sorted(set(h.lower() for h in rule.get("allowed_headers") or []))),
        tuple(sorted(set(h.lower() for h in rule.get("expose_headers") or []))),
        # SeaweedFS reports an unset MaxAgeSeconds as 0
        rule.get("max_age_seconds") or 0,
    )


def rules_equal(first, second):
    """Rules compared as a set; list order, method case, missing vs empty lists ignored."""
    return set(rule_key(r) for r in first or []) == set(rule_key(r) for r in second or [])


def to_api(rules):
    api_rules = []
    for rule in rules:
        api = {}
        for key, api_key in RULE_KEYS:
            if rule.get(key):
                api[api_key] = list(rule[key])
        if rule.get("max_age_seconds") is not None:
            api["MaxAgeSeconds"] = rule["max_age_seconds"]
        api_rules.append(api)
    return {"CORSRules": api_rules}


def from_api(api_rules):
    rules = []
    for api in api_rules or []:
        rule = dict((key, list(api.get(api_key) or [])) for key, api_key in RULE_KEYS)
        rule["allowed_methods"] = [m.upper() for m in rule["allowed_methods"]]
        rule["max_age_seconds"] = api.get("MaxAgeSeconds")
        if api.get("ID"):
            rule["id"] = api["ID"]
        rules.append(rule)
    return rules


def bucket_rules(client, bucket):
    """The bucket's CORS rules in the module's form, [] when it has none; other errors raise."""
    try:
        response = client.get_bucket_cors(Bucket=bucket, aws_retry=True)
    except is_boto3_error_code("NoSuchCORSConfiguration"):
        return []
    return from_api(response.get("CORSRules"))


def sorted_rules(rules):
    """Rules in a stable order, for diffs and results."""
    return sorted(rules or [], key=lambda r: repr(rule_key(r)))


# ---------------------------------------------------------------------------------------------
# The real preflight
# ---------------------------------------------------------------------------------------------


def object_url(bucket, endpoint_url=None, region=None, key=PREFLIGHT_KEY):
    """The URL a browser would load an object from (path-style on custom endpoints)."""
    if endpoint_url:
        return "%s/%s/%s" % (endpoint_url.rstrip("/"), bucket, quote(key))
    region = region or "us-east-1"
    if "." in bucket:  # the wildcard certificate does not cover dotted names
        return "https://s3.%s.amazonaws.com/%s/%s" % (region, bucket, quote(key))
    return "https://%s.s3.%s.amazonaws.com/%s" % (bucket, region, quote(key))


def preflight(url, origin, method="GET", timeout=10, validate_certs=True, ca_bundle=None):
    """Send one CORS preflight; returns {status, headers} with the CORS headers (lowercased).

    Through ansible's own HTTP client (open_url), as verify's requests (fetch_url) are."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("preflight URL %r must be http or https" % url)
    # imported here: urls (and the cryptography it loads) cost 70 ms of every run of the bucket
    # module, which shares this file's rules and never sends a preflight
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    try:
        response = open_url(
            url,
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": method},
            timeout=timeout,
            validate_certs=validate_certs,
            ca_path=ca_bundle,
            follow_redirects="none",
        )
        status, answered = response.getcode(), response.headers
        response.read()
    except HTTPError as err:  # a 4xx/5xx answer is an answer: a refused preflight, say
        status, answered = err.code, err.headers
    headers = dict(
        (name.lower(), value)
        for name, value in answered.items()
        if name.lower().startswith("access-control-") or name.lower() == "vary"
    )
    return dict(status=status, headers=headers)


def origin_allowed(observed, origin):
    allow = observed["headers"].get("access-control-allow-origin")
    return observed["status"] < 400 and allow in (origin, "*")


# ---------------------------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------------------------


class CorsManager(S3Manager):
    """Bring one bucket's CORS configuration to the wanted state (``module`` and ``client``: see
    ``S3Manager``). ``preflight_func`` may be replaced in tests.
    """

    preflight_attempts = 5
    preflight_delay = 2

    def __init__(self, module, client, preflight_func=None):
        super(CorsManager, self).__init__(module, client)
        self.bucket = self.params["bucket"]
        self.preflight_func = preflight_func or preflight
        self.api_missing = False

    # -- input ---------------------------------------------------------------------------------

    def wanted_rules(self):
        params = self.params
        if params.get("state") == "absent":
            return []
        if params.get("rules"):
            raw = params["rules"]
        else:
            if not params.get("domain"):
                raise CorsError(
                    message="state=present needs domain (the instance's DOMAIN) or rules (full CORS rules)."
                )
            error = domain_error(params["domain"])
            if error:
                raise CorsError(message=error)
            for origin in params.get("extra_origins") or []:
                error = origin_error(origin)
                if error:
                    raise CorsError(message="extra_origins: " + error)
            raw = default_rules(params["domain"], params.get("extra_origins"))
        try:
            return [normalize_rule(rule) for rule in raw]
        except ValueError as e:
            raise CorsError(message="rules: %s" % e) from e

    # -- API -----------------------------------------------------------------------------------

    def no_api(self, exc, operation):
        """The provider has no bucket CORS API: fail with the remedy, or warn and go on."""
        self.api_missing = True
        message = "Bucket %r: %s" % (self.bucket, explain(exc, operation, self.endpoint_url, feature="cors"))
        if self.params.get("provider_without_cors_api") == "ignore":
            self.module.warn(message)
            return
        raise CorsError(exception=exc, message=message)

    def fail(self, exc, operation):
        if error_code(exc) in ("NoSuchBucket", "404"):
            raise CorsError(
                exception=exc,
                message="Bucket %r does not exist at %s: create it first (bookwyrm.s3.bucket)."
                % (self.bucket, self.endpoint_url or "AWS S3"),
            )
        raise CorsError(
            exception=exc, message="Bucket %r: %s" % (self.bucket, explain(exc, operation, self.endpoint_url))
        )

    def get_rules(self):
        """The current rules, [] when none, or None when the provider has no CORS API."""
        try:
            return bucket_rules(self.client, self.bucket)
        except is_boto3_error_code(["NoSuchBucket"]) as e:
            if self.params.get("state") == "absent":  # no bucket, no CORS: already absent
                return []
            if self.check_mode:
                # a dry run before the bucket task has created it: plan against an empty bucket
                self.module.warn("Bucket %r does not exist yet; planned against an empty bucket." % self.bucket)
                return []
            self.fail(e, "GetBucketCors")
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            if is_not_implemented(e):
                self.no_api(e, "GetBucketCors")
                return None
            self.fail(e, "GetBucketCors")

    def put_rules(self, rules):
        try:
            self.client.put_bucket_cors(Bucket=self.bucket, CORSConfiguration=to_api(rules), aws_retry=True)
        except BOTO_ERRORS as e:
            if is_not_implemented(e):
                self.no_api(e, "PutBucketCors")
                return False
            self.fail(e, "PutBucketCors")
        return True

    def delete_rules(self):
        try:
            self.client.delete_bucket_cors(Bucket=self.bucket, aws_retry=True)
        except is_boto3_error_code("NoSuchCORSConfiguration"):
            return False
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            if is_not_implemented(e):
                self.no_api(e, "DeleteBucketCors")
                return False
            self.fail(e, "DeleteBucketCors")
        return True

    # -- preflight -----------------------------------------------------------------------------

    def verify(self, rules):
        """Send real preflights; fail unless the instance's origin is allowed and a foreign one refused."""
        if not self.params.get("verify_preflight"):
            return None
        if self.params.get("state") == "absent":
            return dict(skipped=True, msg="no preflight check with state=absent")
        if self.check_mode:
            return dict(skipped=True, msg="preflight check skipped in check mode (the rules are not applied)")
        if self.api_missing:
            return dict(skipped=True, msg="preflight check skipped: the provider has no bucket CORS API")
        origin = next((o for rule in rules for o in rule["allowed_origins"] if o != "*" and "*" not in o), None)
        if origin is None:
            return dict(skipped=True, msg="preflight check skipped: the rules allow only wildcard origins")
        wildcard = any("*" in o for rule in rules for o in rule["allowed_origins"])
        url = self.params.get("preflight_url") or object_url(self.bucket, self.endpoint_url, self.region)
        tls = dict(
            validate_certs=self.params.get("validate_certs", True),
            ca_bundle=self.params.get("aws_ca_bundle"),
        )
        result = dict(skipped=False, url=url)
        for attempt in range(self.preflight_attempts):  # providers apply CORS changes with some delay
            try:
                allowed = self.preflight_func(url, origin, **tls)
                foreign = None if wildcard else self.preflight_func(url, FOREIGN_ORIGIN, **tls)
            except (OSError, ValueError) as e:
                raise CorsError(message="CORS preflight to %s failed: %s" % (url, e), preflight=result) from e
            result.update(
                origin=dict(
                    origin=origin,
                    status=allowed["status"],
                    headers=allowed["headers"],
                    allowed=origin_allowed(allowed, origin),
                ),
            )
            if foreign is not None:
                result["foreign"] = dict(
                    origin=FOREIGN_ORIGIN,
                    status=foreign["status"],
                    headers=foreign["headers"],
                    allowed=origin_allowed(foreign, FOREIGN_ORIGIN),
                )
            ok = result["origin"]["allowed"] and not (foreign and result["foreign"]["allowed"])
            if ok:
                return result
            if attempt + 1 < self.preflight_attempts:
                time.sleep(self.preflight_delay)
        if not result["origin"]["allowed"]:
            raise CorsError(
                message=(
                    "CORS preflight check failed: OPTIONS %s with Origin %s answered %s without "
                    "Access-Control-Allow-Origin: %s. The bucket's rules are set but the server does not apply them "
                    "at this URL; check preflight_url (the URL browsers load files from) and any CDN or proxy in "
                    "front of the bucket." % (url, origin, result["origin"]["status"], origin)
                ),
                preflight=result,
                changed=self.changed,
            )
        raise CorsError(
            message=(
                "CORS preflight check failed: a foreign origin (%s) is allowed too (status %s, "
                "Access-Control-Allow-Origin: %s). The server's own CORS setting overrides the bucket's rules; "
                "restrict it on the server side (SeaweedFS: -s3.allowedOrigins, MinIO: MINIO_API_CORS_ALLOW_ORIGIN)."
                % (
                    FOREIGN_ORIGIN,
                    result["foreign"]["status"],
                    result["foreign"]["headers"].get("access-control-allow-origin"),
                )
            ),
            preflight=result,
            changed=self.changed,
        )

    # -- run -----------------------------------------------------------------------------------

    def run(self):
        wanted = self.wanted_rules()
        current = self.get_rules()
        if current is None:  # no CORS API, provider_without_cors_api=ignore
            return dict(changed=False, bucket=self.bucket, rules=[], cors_api=False, preflight=self.verify(wanted))
        if not rules_equal(current, wanted):
            self.changed = True
            if not self.check_mode:
                if wanted:
                    self.put_rules(wanted)
                else:
                    self.changed = self.delete_rules()
        if self.api_missing:
            self.changed = False
            after = current
        else:
            after = wanted
        result = dict(
            changed=self.changed,
            bucket=self.bucket,
            rules=sorted_rules(after),
            cors_api=not self.api_missing,
        )
        observed = self.verify(after)
        if observed is not None:
            result["preflight"] = observed
        if getattr(self.module, "_diff", False):
            result["diff"] = dict(before=dict(rules=sorted_rules(current)), after=dict(rules=sorted_rules(after)))
        return result
