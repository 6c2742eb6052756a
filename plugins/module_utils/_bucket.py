# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The logic of bookwyrm.s3.bucket: name rules, the public-read policy statement, and the
manager that brings a bucket to the wanted state with only the API calls its options need.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.bookwyrm.s3.plugins.module_utils._cors import (
    bookwyrm_rule,
    bucket_rules,
    origin_error,
    rules_equal,
    sorted_rules,
    to_api,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import BucketError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import (
    BOTO_ERRORS,
    S3Manager,
    error_code,
    explain,
    http_status,
    is_not_implemented,
)

POLICY_SID = "BookWyrmPublicRead"
POLICY_VERSION = "2012-10-17"
DEFAULT_PUBLIC_PREFIXES = ["static/", "images/"]
PRIVATE_PREFIXES = ("exports/",)
OWNERSHIP_CHOICES = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]
PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

_NAME_CHARS = re.compile(r"^[a-z0-9.-]+$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


# ---------------------------------------------------------------------------------------------
# Input rules
# ---------------------------------------------------------------------------------------------


def bucket_name_error(name):
    """Why ``name`` is not a valid S3 bucket name, or None when it is.

    The general-purpose bucket rules of AWS, which every S3-compatible provider accepts.
    """
    hint = (
        "Bucket names are 3 to 63 characters of lowercase letters, digits, hyphens and dots, "
        "for example 'bookwyrm-media'."
    )
    if name is None or name == "":
        return "name is empty. " + hint
    if len(name) < 3 or len(name) > 63:
        return "bucket name %r is %d characters long; it must be 3 to 63. %s" % (name, len(name), hint)
    if not _NAME_CHARS.match(name):
        bad = sorted(set(ch for ch in name if not re.match(r"[a-z0-9.-]", ch)))
        return "bucket name %r contains %s; only lowercase letters, digits, hyphens and dots are allowed%s. %s" % (
            name,
            ", ".join(repr(ch) for ch in bad),
            " (use lowercase)" if any(ch.isupper() for ch in bad) else "",
            hint,
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "bucket name %r must start and end with a lowercase letter or a digit. %s" % (name, hint)
    if ".." in name:
        return "bucket name %r contains '..'; dots must be separated by letters or digits." % name
    if ".-" in name or "-." in name:
        return "bucket name %r has a dot next to a hyphen ('.-' or '-.'), which S3 refuses." % name
    if _IPV4.match(name):
        return "bucket name %r looks like an IP address, which S3 refuses. %s" % (name, hint)
    if name.startswith("xn--"):
        return (
            "bucket name %r starts with 'xn--' (reserved for internationalized domain names); "
            "choose another name." % name
        )
    if name.startswith("sthree-"):
        return "bucket name %r starts with 'sthree-', a prefix S3 reserves; choose another name." % name
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", ".mrap"):
        if name.endswith(suffix):
            return "bucket name %r ends with %r, a suffix S3 reserves for access points; choose another name." % (
                name,
                suffix,
            )
    return None


def normalize_prefixes(prefixes):
    """Validate and normalize public prefixes. Returns (prefixes, error message or None).

    A prefix is a "directory" of the bucket: ``images`` becomes ``images/``. The empty prefix
    (the whole bucket), wildcards and ``exports/`` (private user exports) are refused.
    """
    result = []
    for raw in prefixes or []:
        prefix = (raw or "").strip()
        if prefix.strip("/") == "":
            return None, (
                "public_prefixes contains %r, which would make the whole bucket public (exports and listing "
                "included). List the directories to publish instead, for example ['static/', 'images/']." % raw
            )
        if any(ch in prefix for ch in "*?"):
            return None, "public_prefixes entry %r contains a wildcard; give a plain directory such as 'images/'." % raw
        prefix = prefix.lstrip("/")
        if not prefix.endswith("/"):
            prefix += "/"
        for private in PRIVATE_PREFIXES:
            if prefix.startswith(private):
                return None, (
                    "public_prefixes contains %r: BookWyrm's user exports (%s) hold private data and must never be "
                    "public; BookWyrm serves them with signed URLs. Remove it (keep 'static/' and 'images/'), and "
                    "prefer a separate private bucket (EXPORTS_STORAGE_BUCKET_NAME) for exports." % (raw, private)
                )
        if prefix not in result:
            result.append(prefix)
    return result, None


def location_constraint(region, endpoint_url=None, send="auto"):
    """The LocationConstraint to send with CreateBucket, or None to send none.

    AWS wants it for every region but us-east-1 (where it must be absent). Many S3-compatible
    providers reject it or any value but their own, so with an endpoint_url it is sent only
    when ``send`` is ``always``.
    """
    if not region or send == "never":
        return None
    if endpoint_url:
        return region if send == "always" else None
    if region == "us-east-1":
        return None
    return region


# ---------------------------------------------------------------------------------------------
# The policy statement
# ---------------------------------------------------------------------------------------------


def public_read_statement(bucket, prefixes, sid=POLICY_SID):
    """The statement that lets anyone read objects under ``prefixes``, and nothing else."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::%s/%s*" % (bucket, prefix) for prefix in prefixes],
    }


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _canonical_principal(principal):
    if principal == "*":
        return "*"
    if isinstance(principal, dict):
        return tuple(sorted((key, tuple(sorted(_as_list(value)))) for key, value in principal.items()))
    return principal


def canonical_statement(statement):
    """A comparable form of a statement: order of lists and single-vs-list spelling ignored."""
    if statement is None:
        return None
    canon = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            canon[key] = tuple(sorted(_as_list(value)))
        elif key in ("Principal", "NotPrincipal"):
            principal = _canonical_principal(value)
            # {"AWS": "*"} and "*" mean the same: everyone.
            if principal == (("AWS", ("*",)),):
                principal = "*"
            canon[key] = principal
        else:
            canon[key] = json.dumps(value, sort_keys=True)
    return tuple(sorted(canon.items()))


def statements_equal(first, second):
    return canonical_statement(first) == canonical_statement(second)


def parse_policy(text):
    """A policy document from GetBucketPolicy's string (None for no policy)."""
    if text is None or text == "":
        return None
    if isinstance(text, dict):
        return text
    return json.loads(text)


def find_statement(policy, sid=POLICY_SID):
    if not policy:
        return None
    for statement in _as_list(policy.get("Statement")):
        if isinstance(statement, dict) and statement.get("Sid") == sid:
            return statement
    return None


def merge_statement(policy, statement):
    """Return (changed, new policy): ``policy`` with ``statement`` in place of the one of the
    same Sid (or appended). Other statements are kept as they are, in their order.
    """
    sid = statement["Sid"]
    if policy:
        new_policy = copy.deepcopy(policy)
    else:
        new_policy = {"Version": POLICY_VERSION}
    statements = _as_list(new_policy.get("Statement"))
    merged = []
    placed = False
    changed = False
    for existing in statements:
        if isinstance(existing, dict) and existing.get("Sid") == sid:
            if placed:  # a duplicate of our Sid: drop it
                changed = True
                continue
            if not statements_equal(existing, statement):
                changed = True
            merged.append(copy.deepcopy(statement))
            placed = True
        else:
            merged.append(existing)
    if not placed:
        merged.append(copy.deepcopy(statement))
        changed = True
    new_policy.setdefault("Version", POLICY_VERSION)
    new_policy["Statement"] = merged
    return changed, new_policy


def public_listing_statements(policy, bucket):
    """Sids (or indexes) of statements that let anyone list or read the whole bucket."""
    found = []
    for index, statement in enumerate(_as_list((policy or {}).get("Statement"))):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = _canonical_principal(statement.get("Principal"))
        if principal not in ("*", (("AWS", ("*",)),)):
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        resources = _as_list(statement.get("Resource"))
        wide = any(a in ("*", "s3:*", "s3:listbucket", "s3:list*") for a in actions) or any(
            r in ("arn:aws:s3:::%s/*" % bucket, "*") for r in resources
        )
        if wide:
            found.append(statement.get("Sid") or "#%d" % index)
    return found


# ---------------------------------------------------------------------------------------------
# The manager
# ---------------------------------------------------------------------------------------------


class BucketManager(S3Manager):
    """Bring one bucket to the wanted state (``module`` and ``client``: see ``S3Manager``)."""

    def __init__(self, module, client):
        super(BucketManager, self).__init__(module, client)
        self.name = self.params["name"]
        self.created = False
        self.deleted = False
        self.before = {}
        self.after = {}
        # what this run changes (would change, in check mode), in order: a check-mode run that
        # lists nothing tells that the real one has nothing to do
        self.changes = []

    # -- helpers -------------------------------------------------------------------------------

    def fail(self, exc, operation, feature=None, hint=None):
        msg = explain(exc, operation, self.endpoint_url, feature=feature)
        msg = "Bucket %r: %s" % (self.name, msg)
        if hint:
            msg += " " + hint
        raise BucketError(exception=exc, message=msg)

    def validate(self):
        error = bucket_name_error(self.name)
        if error:
            raise BucketError(message=error)
        prefixes, error = normalize_prefixes(self.params.get("public_prefixes"))
        if error:
            raise BucketError(message=error)
        if self.params.get("public_access") == "policy" and not prefixes:
            raise BucketError(
                message="public_access=policy needs at least one entry in public_prefixes (BookWyrm serves static/ and "
                "images/); use public_access=none for a bucket that is not public."
            )
        self.prefixes = prefixes
        origins = self.params.get("cors_origins")
        if origins is not None and self.params.get("state") != "absent":
            if not origins:
                raise BucketError(
                    message="cors_origins is empty: list the origins the instance's pages are served from "
                    "(https://DOMAIN), or leave it unset to leave the bucket's CORS rules alone."
                )
            for origin in origins:
                error = origin_error(origin)
                if error:
                    raise BucketError(message="cors_origins: " + error)

    # -- existence -----------------------------------------------------------------------------

    def head(self):
        """(exists, region or None). A bucket we may not see is a failure naming what to do."""
        try:
            response = self.client.head_bucket(Bucket=self.name, aws_retry=True)
        except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
            return False, None
        except is_boto3_error_code(["403", "AccessDenied", "Forbidden"]) as e:  # pylint: disable=duplicate-except
            self._why_forbidden()
            raise BucketError(
                exception=e,
                message=(
                    "Bucket %r exists but these credentials may not use it (HeadBucket: 403 Forbidden at %s). Bucket "
                    "names are global: it probably belongs to another account. Choose another name (e.g. prefixed "
                    "with your instance's domain), or use the access key of the account that owns it, or grant "
                    "this key access to it. (HeadBucket carries no error detail: a wrong secret_key also answers "
                    "403 here.)" % (self.name, self._where())
                ),
            ) from e
        except is_boto3_error_code("301") as e:  # pylint: disable=duplicate-except
            region = self._region_from(e)
            raise BucketError(
                exception=e,
                message="Bucket %r exists in another region (%s); set region to it." % (self.name, region or "unknown"),
            ) from e
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            if http_status(e) == 400:
                self._why_forbidden()
            self.fail(e, "HeadBucket")
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return True, headers.get("x-amz-bucket-region") or response.get("BucketRegion")

    def _why_forbidden(self):
        """HeadBucket's 400/403 has no body: ask a call that says why (wrong key, unknown key, region)."""
        try:
            self.client.get_bucket_location(Bucket=self.name)
        except BOTO_ERRORS as e:
            if error_code(e) in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthorizationHeaderMalformed"):
                self.fail(e, "GetBucketLocation")

    @staticmethod
    def _region_from(exc):
        headers = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return headers.get("x-amz-bucket-region")

    def _where(self):
        return self.endpoint_url or "AWS S3"

    def create(self):
        kwargs = dict(Bucket=self.name)
        constraint = location_constraint(self.region, self.endpoint_url, self.params.get("send_location_constraint"))
        if constraint:
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": constraint}
        self.changed = True
        self.changes.append("created")
        self.created = True
        if self.check_mode:
            return
        try:
            self.client.create_bucket(aws_retry=True, **kwargs)
        except is_boto3_error_code("BucketAlreadyOwnedByYou"):
            # Created meanwhile (or HeadBucket lied): ours all the same.
            self.changed = False
            self.created = False
            self.changes.remove("created")
        except is_boto3_error_code("BucketAlreadyExists") as e:  # pylint: disable=duplicate-except
            raise BucketError(
                exception=e,
                message=(
                    "Bucket %r already exists and belongs to another account (CreateBucket: BucketAlreadyExists at "
                    "%s). Bucket names are global on this provider: choose another name, for example one that "
                    "starts with your instance's domain." % (self.name, self._where())
                ),
            ) from e
        except is_boto3_error_code(["InvalidLocationConstraint", "IllegalLocationConstraintException"]) as e:  # pylint: disable=duplicate-except
            raise BucketError(
                exception=e,
                message=(
                    "Bucket %r: the provider refused LocationConstraint=%r (%s). Set region to the provider's "
                    "region name, or send_location_constraint=never (auto omits it for custom endpoints)."
                    % (self.name, constraint, error_code(e))
                ),
            ) from e
        except is_boto3_error_code("InvalidBucketName") as e:  # pylint: disable=duplicate-except
            raise BucketError(
                exception=e,
                message="Bucket %r: the provider refused the name (InvalidBucketName); choose another one." % self.name,
            ) from e
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            self.fail(e, "CreateBucket")

    # -- ownership controls --------------------------------------------------------------------

    def get_ownership(self):
        response = self._get_setting(
            "GetBucketOwnershipControls", "OwnershipControlsNotFoundError", optional="object_ownership"
        )
        if response is None:
            return None
        rules = response.get("OwnershipControls", {}).get("Rules", [])
        return rules[0].get("ObjectOwnership") if rules else None

    def handle_ownership(self, exists):
        wanted = self.params.get("object_ownership")
        if not wanted:
            return
        current = self.get_ownership() if exists else None
        self.before["object_ownership"] = current
        self.after["object_ownership"] = wanted
        if current == wanted:
            return
        self.changed = True
        self.changes.append("object_ownership")
        if self.check_mode:
            return
        try:
            self.client.put_bucket_ownership_controls(
                Bucket=self.name,
                OwnershipControls={"Rules": [{"ObjectOwnership": wanted}]},
                aws_retry=True,
            )
        except BOTO_ERRORS as e:
            self._fail_optional(e, "PutBucketOwnershipControls", "object_ownership")

    def _call(self, operation, **kwargs):
        """The client call named by its API operation (GetBucketPolicy: get_bucket_policy)."""
        method = getattr(self.client, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
        return method(Bucket=self.name, aws_retry=True, **kwargs)

    def _listing(self, operation, optional=False, **kwargs):
        """A listing call's response; {} from a provider that lacks an ``optional`` one."""
        try:
            return self._call(operation, **kwargs)
        except BOTO_ERRORS as e:
            if not (optional and is_not_implemented(e)):
                self.fail(e, operation)
            return {}

    def _get_setting(self, operation, missing, feature=None, optional=None):
        """The response of the bucket's ``operation`` (GetBucketPolicy...), or None when the
        bucket has no such setting (error code ``missing``). ``optional`` names the option to
        leave unset on a provider that does not implement the call."""
        try:
            return self._call(operation)
        except is_boto3_error_code(missing):
            return None
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            if optional:
                self._fail_optional(e, operation, optional)
            self.fail(e, operation, feature=feature)

    def _fail_optional(self, exc, operation, option):
        # Ceph RGW (16.2) reads ownership controls as empty but refuses to set any: 400 InvalidArgument.
        rgw_refusal = operation == "PutBucketOwnershipControls" and error_code(exc) == "InvalidArgument"
        if is_not_implemented(exc) or rgw_refusal:
            raise BucketError(
                exception=exc,
                message="Bucket %r: %s does not implement %s (%s). Leave %s unset for this provider."
                % (self.name, self._where(), operation, error_code(exc) or http_status(exc), option),
            )
        self.fail(exc, operation)

    # -- public access block -------------------------------------------------------------------

    def get_public_access_block(self):
        response = self._get_setting(
            "GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration", feature="public_access_block"
        )
        config = (response or {}).get("PublicAccessBlockConfiguration", {})
        return dict((key, bool(config.get(key, False))) for key in PAB_KEYS)

    def wanted_public_access_block(self, current):
        wanted = dict(current)
        mode = self.params.get("public_access")
        if mode == "policy":
            wanted.update(BlockPublicPolicy=False, RestrictPublicBuckets=False)
        elif mode == "acl":
            wanted.update(BlockPublicAcls=False, IgnorePublicAcls=False)
        else:
            wanted = dict((key, True) for key in PAB_KEYS)
        return wanted

    def handle_public_access_block(self, exists):
        if not self.params.get("manage_public_access_block"):
            return
        if exists:
            current = self.get_public_access_block()
        else:
            # AWS turns all four settings on for new buckets.
            current = (
                dict((key, True) for key in PAB_KEYS)
                if not self.endpoint_url
                else dict((key, False) for key in PAB_KEYS)
            )
        wanted = self.wanted_public_access_block(current)
        self.before["public_access_block"] = current if exists else None
        self.after["public_access_block"] = wanted
        if exists and current == wanted:
            return
        self.changed = True
        self.changes.append("public_access_block")
        if self.check_mode:
            return
        try:
            self.client.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=wanted, aws_retry=True)
        except BOTO_ERRORS as e:
            self.fail(e, "PutPublicAccessBlock", feature="public_access_block")

    # -- policy --------------------------------------------------------------------------------

    def get_policy(self):
        response = self._get_setting("GetBucketPolicy", "NoSuchBucketPolicy", feature="policy")
        if response is None:
            return None
        try:
            return parse_policy(response.get("Policy"))
        except ValueError as e:
            raise BucketError(
                message="Bucket %r: the provider returned a bucket policy that is not JSON: %s" % (self.name, e)
            ) from e

    def handle_policy(self, exists):
        if self.params.get("public_access") != "policy":
            return None
        statement = public_read_statement(self.name, self.prefixes)
        policy = self.get_policy() if exists else None
        self.before["policy_statement"] = find_statement(policy)
        self.after["policy_statement"] = statement
        wide = public_listing_statements(policy, self.name)
        if wide:
            self.module.warn(
                "Bucket %r: the bucket policy has other statements (%s) that let anyone list or read the whole "
                "bucket, exports/ included. This module leaves other statements alone: review them."
                % (self.name, ", ".join(wide))
            )
        changed, new_policy = merge_statement(policy, statement)
        if not changed:
            return statement
        self.changed = True
        self.changes.append("policy_statement")
        if self.check_mode:
            return statement
        try:
            self.client.put_bucket_policy(Bucket=self.name, Policy=json.dumps(new_policy), aws_retry=True)
        except is_boto3_error_code(["AccessDenied", "403"]) as e:
            self.fail(
                e,
                "PutBucketPolicy",
                hint=(
                    "On AWS the bucket's Public Access Block (BlockPublicPolicy) refuses public policies: set "
                    "manage_public_access_block=true, or allow public policies in the console, or make sure the "
                    "key has s3:PutBucketPolicy."
                ),
            )
        except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
            self.fail(e, "PutBucketPolicy", feature="policy")
        return statement

    # -- CORS ----------------------------------------------------------------------------------

    @staticmethod
    def _cors_hint(exc):
        return "With bookwyrm.s3.bucket: leave cors_origins unset instead." if is_not_implemented(exc) else None

    def get_cors_rules(self):
        try:
            return bucket_rules(self.client, self.name)
        except BOTO_ERRORS as e:
            self.fail(e, "GetBucketCors", feature="cors", hint=self._cors_hint(e))

    def handle_cors(self, exists):
        """BookWyrm's CORS rule for ``cors_origins`` (bookwyrm.s3.bucket_cors's default rule,
        compared as it compares: a rule set another tool wrote in another order is kept)."""
        if self.params.get("cors_origins") is None:
            return None
        wanted = [bookwyrm_rule(self.params["cors_origins"])]
        current = self.get_cors_rules() if exists else []
        self.before["cors_rules"] = sorted_rules(current)
        self.after["cors_rules"] = sorted_rules(wanted)
        if rules_equal(current, wanted):
            return wanted
        self.changed = True
        self.changes.append("cors_rules")
        if not self.check_mode:
            try:
                self._call("PutBucketCors", CORSConfiguration=to_api(wanted))
            except BOTO_ERRORS as e:
                self.fail(e, "PutBucketCors", feature="cors", hint=self._cors_hint(e))
        return wanted

    # -- absent --------------------------------------------------------------------------------

    def _first_key(self):
        """A key or version the bucket still holds, or None when it is empty."""
        listing = self._listing("ListObjectsV2", MaxKeys=1)
        if listing.get("Contents") or listing.get("KeyCount"):
            return (listing.get("Contents") or [{}])[0].get("Key", "?")
        versions = self._listing("ListObjectVersions", optional=True, MaxKeys=1)
        for kind in ("Versions", "DeleteMarkers"):
            if versions.get(kind):
                return "%s (an old version)" % versions[kind][0].get("Key", "?")
        uploads = self._listing("ListMultipartUploads", optional=True, MaxUploads=1)
        if uploads.get("Uploads"):
            return "%s (an unfinished multipart upload)" % uploads["Uploads"][0].get("Key", "?")
        return None

    def _not_empty(self, key, exc=None):
        msg = (
            "Bucket %r is not empty (it holds %s, maybe more), so it was not deleted: state=absent only removes an "
            "empty bucket and never deletes objects. Move or delete the objects first (for example with "
            "`aws s3 rm s3://%s --recursive`), then run again." % (self.name, key, self.name)
        )
        if exc is not None:
            raise BucketError(exception=exc, message=msg)
        raise BucketError(message=msg)

    def absent(self):
        exists, region = self.head()
        self.before = {"exists": exists}
        self.after = {"exists": False}
        if not exists:
            return self.result(region)
        # Some providers (SeaweedFS by default) delete a non-empty bucket with all its objects:
        # look first, whatever the provider would do.
        key = self._first_key()
        if key is not None:
            self._not_empty(key)
        self.changed = True
        self.changes.append("deleted")
        self.deleted = True
        if not self.check_mode:
            try:
                self.client.delete_bucket(Bucket=self.name, aws_retry=True)
            except is_boto3_error_code("BucketNotEmpty") as e:
                self._not_empty("objects written meanwhile", e)
            except is_boto3_error_code(["NoSuchBucket", "404"]):  # pylint: disable=duplicate-except
                self.changed = False
                self.deleted = False
                self.changes.remove("deleted")
            except BOTO_ERRORS as e:  # pylint: disable=duplicate-except
                self.fail(e, "DeleteBucket")
        return self.result(region)

    # -- present -------------------------------------------------------------------------------

    def present(self):
        exists, region = self.head()
        self.before = {"exists": exists}
        self.after = {"exists": True}
        if not exists:
            self.create()
        # Order matters on AWS: ownership, then the access block, then the public policy.
        self.handle_ownership(exists)
        self.handle_public_access_block(exists)
        statement = self.handle_policy(exists)
        cors_rules = self.handle_cors(exists)
        return self.result(region, statement, cors_rules)

    def run(self):
        self.validate()
        if self.params.get("state") == "absent":
            return self.absent()
        return self.present()

    def result(self, region=None, statement=None, cors_rules=None):
        bucket = dict(
            name=self.name,
            region=region or self.region,
            exists=self.after.get("exists", False),
            created=self.created,
            deleted=self.deleted,
            public_access=self.params.get("public_access"),
            public_prefixes=self.prefixes,
            policy_statement=statement,
        )
        if self.params.get("object_ownership"):
            bucket["object_ownership"] = self.params["object_ownership"]
        if "public_access_block" in self.after:
            bucket["public_access_block"] = self.after["public_access_block"]
        if cors_rules is not None:
            bucket["cors_rules"] = sorted_rules(cors_rules)
        result = dict(changed=self.changed, bucket=bucket, changes=self.changes)
        if getattr(self.module, "_diff", False):
            result["diff"] = dict(before=self.before, after=self.after)
        return result
