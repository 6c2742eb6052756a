#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bucket
short_description: Create a bucket for a BookWyrm instance's static files and media
version_added: 0.1.0
description:
  - Create (or remove, when empty) an S3 bucket on AWS or an S3-compatible provider, and make
    BookWyrm's C(static/) and C(images/) prefixes publicly readable, and nothing else.
  - Makes only the API calls its options need (C(HeadBucket), C(CreateBucket), and the bucket
    policy, public access block and ownership calls when the matching options ask for them),
    so it works on providers that implement a subset of the S3 API.
  - Never makes the bucket listable by anyone and never makes C(exports/) public.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  name:
    description:
      - Name of the bucket.
      - Checked against the S3 naming rules before any request; 3 to 63 lowercase letters,
        digits, hyphens and dots, starting and ending with a letter or digit, no C(..), not
        an IP address, no C(xn--) prefix and no C(-s3alias) suffix.
    type: str
    required: true
    aliases: [bucket]
  state:
    description:
      - V(present) creates the bucket when missing and applies the public access settings.
      - V(absent) deletes the bucket only when it is empty (no object, no old version, no
        unfinished upload), and fails otherwise. It never deletes objects.
    type: str
    choices: [present, absent]
    default: present
  public_prefixes:
    description:
      - Key prefixes (directories) that anyone may read with O(public_access=policy).
      - A missing trailing C(/) is added. C(exports/), the empty prefix, C(/) and wildcards
        are refused.
    type: list
    elements: str
    default: [static/, images/]
  public_access:
    description:
      - How C(static/) and C(images/) become publicly readable.
      - V(policy) merges one bucket policy statement (Sid C(BookWyrmPublicRead)) that allows
        C(s3:GetObject) on the O(public_prefixes) only. Other statements of an existing policy
        are kept. Works on AWS, MinIO, SeaweedFS, Ceph and most providers.
      - V(acl) does nothing at bucket level; the objects carry a C(public-read) ACL
        (BookWyrm's C(AWS_DEFAULT_ACL) and M(bookwyrm.s3.media_sync) set it). Only for
        providers that honour object ACLs; MinIO and SeaweedFS do not.
      - V(none) makes nothing public (for example when a CDN reads the bucket with its own
        credentials).
      - Switching from V(policy) to another mode does not remove the statement, because the bucket
        policy is not read outside V(policy) mode.
    type: str
    choices: [acl, policy, none]
    default: policy
  manage_public_access_block:
    description:
      - Also set the bucket's Public Access Block (AWS). New AWS buckets block public policies,
        so with O(public_access=policy) on AWS this must be V(true) (or the block be lifted by
        hand).
      - With O(public_access=policy) it sets C(BlockPublicPolicy) and C(RestrictPublicBuckets) to
        false and keeps the two ACL settings; with V(acl) it sets C(BlockPublicAcls) and
        C(IgnorePublicAcls) to false and keeps the policy settings; with V(none) it turns all
        four on.
      - When V(false) the Public Access Block API is not called at all (many providers lack it).
    type: bool
    default: false
  object_ownership:
    description:
      - The bucket's Object Ownership setting. Not read or changed when unset.
      - V(BucketOwnerEnforced) disables ACLs (then use O(public_access=policy) and
        C(AWS_DEFAULT_ACL="")).
    type: str
    choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
  cors_origins:
    description:
      - Origins (C(scheme://host[:port])) whose pages may load the bucket's files with C(GET)
        and C(HEAD). The bucket's CORS configuration becomes BookWyrm's one rule for them, the
        rule M(bookwyrm.s3.bucket_cors) sets by default (all request headers, C(ETag) exposed,
        cached 3000 seconds).
      - Compared as M(bookwyrm.s3.bucket_cors) compares, order-insensitively, so one check-mode
        call tells whether the bucket and its CORS rules are both as asked.
      - When unset, the CORS configuration is neither read nor changed. For other rules, or to
        remove them, use M(bookwyrm.s3.bucket_cors).
    type: list
    elements: str
  send_location_constraint:
    description:
      - Whether C(CreateBucket) carries C(LocationConstraint=<region>).
      - V(auto) sends it on AWS for every region but C(us-east-1) and never when O(endpoint_url)
        is set (many providers reject it).
      - V(always) also sends it to a custom O(endpoint_url) (providers whose regions are
        location constraints, such as Scaleway, Linode or Ceph zonegroups); still never for
        C(us-east-1) on AWS.
      - V(never) never sends it.
    type: str
    choices: [auto, always, never]
    default: auto
extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - bookwyrm.s3.s3_connection
attributes:
  diff_mode:
    details:
      - Shows whether the bucket exists and the C(BookWyrmPublicRead) policy statement (and the
        ownership, public access block and CORS settings when managed), before and after.
  platform:
    platforms: all
notes:
  - Bucket names are global on AWS and on most providers. A bucket that exists but belongs to
    another account is reported as a failure, never taken over.
  - Some providers (SeaweedFS by default, C(-s3.allowDeleteBucketNotEmpty=true)) delete a
    non-empty bucket with all its objects. This module therefore checks that the bucket is
    empty itself before C(DeleteBucket); an object written between that check and the
    deletion can still be lost on such providers.
seealso:
  - module: bookwyrm.s3.bucket_cors
  - module: amazon.aws.s3_bucket
    description: Manages every bucket setting, but reads all of them on every run.
"""

EXAMPLES = r"""
- name: Create the instance's bucket on a MinIO / SeaweedFS / Ceph server
  bookwyrm.s3.bucket:
    name: bookwyrm-example-social
    endpoint_url: https://s3.example.net
    region: us-east-1
    access_key: "{{ s3_access_key }}"
    secret_key: "{{ s3_secret_key }}"
    addressing_style: path
  no_log: true

- name: Create it on AWS in eu-west-3, lifting the block on public policies
  bookwyrm.s3.bucket:
    name: bookwyrm-example-social
    region: eu-west-3
    manage_public_access_block: true
    object_ownership: BucketOwnerEnforced

- name: Publish static files and media through object ACLs instead of a policy
  bookwyrm.s3.bucket:
    name: bookwyrm-example-social
    endpoint_url: https://fr-par.scw.cloud
    region: fr-par
    send_location_constraint: always
    public_access: acl

- name: Create it with the CORS rule the instance's pages need for its fonts
  bookwyrm.s3.bucket:
    name: bookwyrm-example-social
    endpoint_url: https://s3.example.net
    cors_origins:
      - https://bookwyrm.example.social
      - https://www.bookwyrm.example.social

- name: Remove the bucket (fails if it still holds objects)
  bookwyrm.s3.bucket:
    name: bookwyrm-example-social
    state: absent
"""

RETURN = r"""
bucket:
  description: The bucket as the module left it (or would leave it, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the bucket.
      type: str
      sample: bookwyrm-example-social
    region:
      description: The bucket's region as the provider reports it, else the module's region.
      type: str
      sample: us-east-1
    exists:
      description: Whether the bucket exists afterwards.
      type: bool
      sample: true
    created:
      description: Whether this run created the bucket.
      type: bool
      sample: false
    deleted:
      description: Whether this run deleted the bucket.
      type: bool
      sample: false
    public_access:
      description: The O(public_access) mode.
      type: str
      sample: policy
    public_prefixes:
      description: The normalized public prefixes.
      type: list
      elements: str
      sample: [static/, images/]
    policy_statement:
      description: The C(BookWyrmPublicRead) statement, with O(public_access=policy) and O(state=present); else null.
      type: dict
      sample:
        Sid: BookWyrmPublicRead
        Effect: Allow
        Principal: "*"
        Action: s3:GetObject
        Resource: ["arn:aws:s3:::bookwyrm-example-social/static/*", "arn:aws:s3:::bookwyrm-example-social/images/*"]
    object_ownership:
      description: The Object Ownership setting, when O(object_ownership) is set.
      type: str
      returned: when O(object_ownership) is set
      sample: BucketOwnerEnforced
    public_access_block:
      description: The Public Access Block settings, when O(manage_public_access_block=true).
      type: dict
      returned: when O(manage_public_access_block=true) and O(state=present)
      sample: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false}
    cors_rules:
      description:
        - The CORS rules, when O(cors_origins) is set, in the form
          M(bookwyrm.s3.bucket_cors) returns them (RV(bookwyrm.s3.bucket_cors#module:rules)).
      type: list
      elements: dict
      returned: when O(cors_origins) is set and O(state=present)
      sample:
        - allowed_origins: [https://bookwyrm.example.social]
          allowed_methods: [GET, HEAD]
          allowed_headers: ["*"]
          expose_headers: [ETag]
          max_age_seconds: 3000
changes:
  description:
    - What this run changed, in the order it changed them (in check mode, what it would change),
      among V(created), V(object_ownership), V(public_access_block), V(policy_statement),
      V(cors_rules) and V(deleted).
    - Empty when the bucket was already as asked, so a check-mode run that returns an empty list
      tells that the same task run for real would do nothing.
  returned: always
  type: list
  elements: str
  sample: [created, policy_statement]
"""

try:
    # only to learn whether it is there: AnsibleAWSModule reports its absence
    import botocore  # noqa: F401  # pylint: disable=unused-import
except ImportError:
    pass

from ansible_collections.bookwyrm.s3.plugins.module_utils._bucket import (
    DEFAULT_PUBLIC_PREFIXES,
    OWNERSHIP_CHOICES,
    BucketManager,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import BucketError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import S3_COMPAT_ARGUMENT_SPEC, run_manager

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True, aliases=["bucket"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    public_prefixes=dict(type="list", elements="str", default=list(DEFAULT_PUBLIC_PREFIXES)),
    public_access=dict(type="str", default="policy", choices=["acl", "policy", "none"]),
    manage_public_access_block=dict(type="bool", default=False),
    object_ownership=dict(type="str", choices=OWNERSHIP_CHOICES),
    cors_origins=dict(type="list", elements="str"),
    send_location_constraint=dict(type="str", default="auto", choices=["auto", "always", "never"]),
)
ARGUMENT_SPEC.update(S3_COMPAT_ARGUMENT_SPEC)


def main():
    run_manager(BucketManager, BucketError, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
