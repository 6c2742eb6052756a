#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bucket_cors
short_description: Let a BookWyrm instance's pages load fonts and scripts from its bucket (CORS)
version_added: 0.1.0
description:
  - Set or remove the CORS configuration of an S3 bucket so that browsers on the instance's
    domain may load static files (fonts, scripts) from the bucket.
  - By default one rule allows V(GET) and V(HEAD) from C(https://DOMAIN) and
    C(https://www.DOMAIN), all request headers, exposes C(ETag) and is cached 3000 seconds.
  - Rules are compared order-insensitively (origins, methods, headers, and the rules
    themselves), so a configuration written by another tool in another order is not
    rewritten.
  - Optionally checks the result with real CORS preflight requests, as a browser would.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  bucket:
    description:
      - Name of the bucket.
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) sets the rules; V(absent) removes the bucket's CORS configuration.
    type: str
    choices: [present, absent]
    default: present
  domain:
    description:
      - The instance's C(DOMAIN) (a bare host name, without C(https://) or path).
      - Required with O(state=present) unless O(rules) is given.
    type: str
  extra_origins:
    description:
      - More origins (C(scheme://host[:port])) added to the default rule, for example a
        C(CSP_ADDITIONAL_HOSTS) front end.
      - Not used with O(rules).
    type: list
    elements: str
    default: []
  rules:
    description:
      - Full CORS rules, replacing the default rule.
    type: list
    elements: dict
    suboptions:
      allowed_origins:
        description:
          - Origins as C(scheme://host[:port]) without path, or C(*).
        type: list
        elements: str
        required: true
      allowed_methods:
        description:
          - Among V(GET), V(HEAD), V(PUT), V(POST), V(DELETE) (case-insensitive).
        type: list
        elements: str
        required: true
      allowed_headers:
        description:
          - Request headers a preflight may ask for; C(*) for any.
        type: list
        elements: str
        default: []
      expose_headers:
        description:
          - Response headers scripts may read.
        type: list
        elements: str
        default: []
      max_age_seconds:
        description:
          - How long browsers may cache the preflight answer.
        type: int
  provider_without_cors_api:
    description:
      - What to do when the provider has no per-bucket CORS API (MinIO answers
        C(NotImplemented) or C(MalformedXML); its CORS is a server setting).
      - V(fail) fails with what to configure on the server instead.
      - V(ignore) warns and reports no change.
    type: str
    choices: [fail, ignore]
    default: fail
  verify_preflight:
    description:
      - After applying, send a real CORS preflight (C(OPTIONS) with C(Origin) and
        C(Access-Control-Request-Method GET)) to an object URL of the bucket, and require the
        first configured origin to be echoed in C(Access-Control-Allow-Origin).
      - Also sends one with the foreign origin C(https://cors-check.invalid) and requires it to
        be refused (skipped when a rule allows a wildcard origin).
      - The observed status and headers are returned as RV(preflight). Skipped in check mode.
    type: bool
    default: false
  preflight_url:
    description:
      - The object URL for O(verify_preflight), for example behind C(AWS_S3_CUSTOM_DOMAIN).
      - Defaults to a path-style URL under O(endpoint_url) (or the bucket's AWS virtual-host
        URL) for the key C(static/bookwyrm-cors-preflight-check); the object need not exist.
    type: str
extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - bookwyrm.s3.s3_connection
attributes:
  diff_mode:
    details: Shows the rules before and after.
  platform:
    platforms: all
notes:
  - BookWyrm needs only V(GET) and V(HEAD) cross-origin; upstream's example also allows write
    methods, which browsers never need here.
  - "SeaweedFS: without a bucket CORS configuration its server-wide default (C(-s3.allowedOrigins),
    default C(*)) answers every origin; once the bucket has one, preflights from other origins
    get 403. MinIO has no bucket CORS API: use O(provider_without_cors_api=ignore) and
    C(MINIO_API_CORS_ALLOW_ORIGIN) on the server."
seealso:
  - module: bookwyrm.s3.bucket
  - module: community.aws.s3_cors
    description: No check mode; reports a change on every O(state=absent) run.
"""

EXAMPLES = r"""
- name: Allow the instance's pages to load fonts from the bucket
  bookwyrm.s3.bucket_cors:
    bucket: bookwyrm-example-social
    domain: bookwyrm.example.social
    endpoint_url: https://s3.example.net
    verify_preflight: true

- name: Also allow a second front end, checking through the CDN domain
  bookwyrm.s3.bucket_cors:
    bucket: bookwyrm-example-social
    domain: bookwyrm.example.social
    extra_origins:
      - https://read.example.social
    verify_preflight: true
    preflight_url: https://cdn.example.social/static/css/bookwyrm.css

- name: Full rules
  bookwyrm.s3.bucket_cors:
    bucket: bookwyrm-example-social
    rules:
      - allowed_origins: [https://bookwyrm.example.social]
        allowed_methods: [GET, HEAD]
        allowed_headers: ["*"]
        expose_headers: [ETag]
        max_age_seconds: 3000

- name: On MinIO, where CORS is a server setting, only warn
  bookwyrm.s3.bucket_cors:
    bucket: bookwyrm
    domain: bookwyrm.example.social
    endpoint_url: https://minio.example.net
    provider_without_cors_api: ignore

- name: Remove the CORS configuration
  bookwyrm.s3.bucket_cors:
    bucket: bookwyrm-example-social
    state: absent
"""

RETURN = r"""
bucket:
  description: Name of the bucket.
  returned: always
  type: str
  sample: bookwyrm-example-social
rules:
  description: The CORS rules after the run (or that the run would set, in check mode), sorted.
  returned: always
  type: list
  elements: dict
  sample:
    - allowed_origins: [https://bookwyrm.example.social, https://www.bookwyrm.example.social]
      allowed_methods: [GET, HEAD]
      allowed_headers: ["*"]
      expose_headers: [ETag]
      max_age_seconds: 3000
cors_api:
  description: Whether the provider has a bucket CORS API (false when ignored with O(provider_without_cors_api=ignore)).
  returned: always
  type: bool
  sample: true
preflight:
  description: What the real preflight requests observed.
  returned: when O(verify_preflight=true)
  type: dict
  contains:
    skipped:
      description: Whether the check was skipped (check mode, O(state=absent), no CORS API).
      type: bool
    msg:
      description: Why the check was skipped.
      type: str
      returned: when skipped
    url:
      description: The URL the preflights went to.
      type: str
      returned: when not skipped
    origin:
      description: The preflight from the instance's origin (C(origin), C(status), C(headers), C(allowed)).
      type: dict
      returned: when not skipped
    foreign:
      description: The preflight from C(https://cors-check.invalid) (C(origin), C(status), C(headers), C(allowed)).
      type: dict
      returned: when not skipped and no wildcard origin is allowed
  sample:
    skipped: false
    url: http://s3.example.net:8333/bookwyrm/static/bookwyrm-cors-preflight-check
    origin:
      origin: https://bookwyrm.example.social
      status: 200
      allowed: true
      headers: {access-control-allow-origin: https://bookwyrm.example.social, access-control-allow-methods: "GET, HEAD"}
    foreign:
      origin: https://cors-check.invalid
      status: 403
      allowed: false
      headers: {vary: Origin}
"""

try:
    # only to learn whether it is there: AnsibleAWSModule reports its absence
    import botocore  # noqa: F401  # pylint: disable=unused-import
except ImportError:
    pass

from ansible_collections.bookwyrm.s3.plugins.module_utils._cors import CorsManager
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import CorsError
from ansible_collections.bookwyrm.s3.plugins.module_utils._s3_client import S3_COMPAT_ARGUMENT_SPEC, run_manager

ARGUMENT_SPEC = dict(
    bucket=dict(type="str", required=True, aliases=["name"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    domain=dict(type="str"),
    extra_origins=dict(type="list", elements="str", default=[]),
    rules=dict(
        type="list",
        elements="dict",
        options=dict(
            allowed_origins=dict(type="list", elements="str", required=True),
            allowed_methods=dict(type="list", elements="str", required=True),
            allowed_headers=dict(type="list", elements="str", default=[]),
            expose_headers=dict(type="list", elements="str", default=[]),
            max_age_seconds=dict(type="int"),
        ),
    ),
    provider_without_cors_api=dict(type="str", default="fail", choices=["fail", "ignore"]),
    verify_preflight=dict(type="bool", default=False),
    preflight_url=dict(type="str"),
)
ARGUMENT_SPEC.update(S3_COMPAT_ARGUMENT_SPEC)


def main():
    run_manager(
        CorsManager,
        CorsError,
        ARGUMENT_SPEC,
        mutually_exclusive=[("rules", "domain"), ("rules", "extra_origins")],
    )


if __name__ == "__main__":
    main()
