#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify
short_description: Prove that a BookWyrm instance serves static files and media from the bucket
version_added: 0.1.0
description:
  - Fetches the instance's page and checks, as a browser would, that its static and media URLs
    point at the storage URL, that the theme stylesheet, its web font and a media file answer
    200 with the right content type, that the font is allowed cross-origin (CORS) for the
    instance's origin, and that anonymous listing of the bucket is refused.
  - Static files and media are told apart by prefix, as BookWyrm's STATIC_URL and MEDIA_URL do
    (C(.../static/) and C(.../images/)), so the logo and favicon under C(static/images/) are
    static files. Cover thumbnails in C(srcset) count as media.
  - The web font is looked for in the theme stylesheet and in every stylesheet it pulls in with
    C(@import) (BookWyrm's fonts are in C(vendor/icons.css)). Finding no font fails the check,
    since the font and CORS checks would otherwise have tested nothing.
  - A check that has nothing to test (a page without any cover or avatar) is reported with
    C(skipped=true) and a warning, never as a silent pass.
  - Read-only; makes only GET and OPTIONS requests. Each failed check says what to fix.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  instance_url:
    description: The instance's page, for example C(https://books.example.com/).
    type: str
    required: true
  storage_url:
    description:
      - Where files are served from, C(AWS_S3_URL_PROTOCOL//AWS_S3_CUSTOM_DOMAIN), for example
        C(https://media.example.com).
    type: str
    required: true
  origin:
    description:
      - The origin browsers send, for the CORS checks. Defaults to the scheme and host of O(instance_url).
    type: str
  listing_url:
    description: The bucket's listing URL; anonymous requests to it must be refused. Skipped when not given.
    type: str
  bypass_cache:
    description:
      - Fetch the page past proxy caches, as a logged-in reader would, with a query string no cache has
        seen and a C(sessionid) cookie (BookWyrm's nginx caches anonymous pages for a minute and
        bypasses that cache for sessions). The cookie names no real session; the page is rendered
        for an anonymous visitor.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each request.
    type: int
    default: 15
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  fail_on_error:
    description: Fail when a check fails; otherwise only report.
    type: bool
    default: true
  reclaim_manifest:
    description:
      - The manifest of M(bookwyrm.s3.reclaim) on the host. When it lists a file that is no longer on the disk,
        the old link C(INSTANCE/images/PATH) of the last such file must answer with a redirect to
        C(STORAGE_URL/images/PATH), which must serve the bytes the file had (its MD5).
      - Ignored when the file does not exist.
    type: path
  media_path:
    description: The local media tree, to tell which files of O(reclaim_manifest) are gone (needed with it).
    type: path
extends_documentation_fragment:
  - bookwyrm.s3.attributes
attributes:
  check_mode:
    details: Runs the same read-only checks.
  diff_mode:
    support: none
  platform:
    platforms: posix
  idempotent:
    details:
      - Changes nothing, ever.
"""

EXAMPLES = r"""
- name: Does the site serve from the bucket?
  bookwyrm.s3.verify:
    instance_url: https://books.example.com/
    storage_url: https://media.example.com
    listing_url: https://s3.example.com/bookwyrm-media

- name: The same, and an old link of a file reclaimed from the disk redirects to the bucket
  bookwyrm.s3.verify:
    instance_url: https://books.example.com/
    storage_url: https://media.example.com
    reclaim_manifest: /opt/bookwyrm/bookwyrm-s3-reclaimed.jsonl
    media_path: /var/lib/docker/volumes/bookwyrm_media_volume/_data
"""

RETURN = r"""
checks:
  description: Every check with its outcome.
  returned: always
  type: list
  elements: dict
  sample:
    - name: stylesheet
      ok: true
      detail: https://media.example.com/static/css/themes/bookwyrm-light.css answered 200 (text/css)
failed_checks:
  description: The names of the checks that failed.
  returned: always
  type: list
  elements: str
skipped_checks:
  description: The names of the checks that found nothing to test (each also gives a warning).
  returned: always
  type: list
  elements: str
"""

import socket
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import Request, make_context
from ansible_collections.bookwyrm.s3.plugins.module_utils._errors import ReclaimError
from ansible_collections.bookwyrm.s3.plugins.module_utils._reclaim_manifest import Manifest
from ansible_collections.bookwyrm.s3.plugins.module_utils._verify import SiteVerifier

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

ARGUMENT_SPEC = dict(
    instance_url=dict(type="str", required=True),
    storage_url=dict(type="str", required=True),
    origin=dict(type="str"),
    listing_url=dict(type="str"),
    timeout=dict(type="int", default=15),
    validate_certs=dict(type="bool", default=True),
    fail_on_error=dict(type="bool", default=True),
    bypass_cache=dict(type="bool", default=True),
    reclaim_manifest=dict(type="path"),
    media_path=dict(type="path"),
)


def lower_headers(message):
    """The headers of an answer by lower-case name, repeated ones joined (as fetch_url does)."""
    headers = {}
    for name, value in message.items():
        name = name.lower()
        headers[name] = "%s, %s" % (headers[name], value) if name in headers else value
    return headers


class VerifyManager(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        # One TLS context for every request: open_url (and fetch_url) would make one per request,
        # reading the system's CA certificates each time (~30 ms of CPU, for http:// URLs too).
        validate_certs = self.params["validate_certs"]
        self.request = Request(
            timeout=self.params["timeout"],
            validate_certs=validate_certs,
            context=make_context(validate_certs=validate_certs),
        )

    def fetch(self, url, method, headers, follow=True):
        """(status, headers, body); status -1 when nothing answered."""
        try:
            response = self.request.open(method, url, headers=headers, follow_redirects="urllib2" if follow else "none")
        except HTTPError as error:  # 4xx and 5xx, and a redirect not followed
            return error.code, lower_headers(error.headers or {}), error.read() if error.fp else b""
        except (URLError, HTTPException, socket.error, ValueError) as error:
            return -1, {"msg": "Request failed: %s" % error}, b""
        with response:
            return response.status, lower_headers(response.headers), response.read()

    def run(self):
        params = self.params
        for name in ("instance_url", "storage_url"):
            if urlsplit(params[name]).scheme not in ("http", "https"):
                self.module.fail_json(msg="%s must start with http:// or https://, got %r." % (name, params[name]))
        origin = params["origin"]
        if not origin:
            parts = urlsplit(params["instance_url"])
            origin = "%s://%s" % (parts.scheme, parts.netloc)
        old_links = []
        if params["reclaim_manifest"]:
            try:
                old_links = Manifest(params["reclaim_manifest"]).gone(params["media_path"], limit=1)
            except ReclaimError as error:
                self.module.fail_json(msg=error.message)
        verifier = SiteVerifier(
            self.fetch,
            params["instance_url"],
            params["storage_url"],
            origin,
            params["listing_url"],
            bypass_cache=params["bypass_cache"],
            old_links=old_links,
        )
        checks = verifier.run()
        failed = [c for c in checks if not c["ok"]]
        skipped = [c for c in checks if c.get("skipped")]
        for item in skipped:
            self.module.warn("verify: %s was not tested: %s" % (item["name"], item["detail"]))
        result = dict(
            changed=False,
            checks=checks,
            failed_checks=[c["name"] for c in failed],
            skipped_checks=[c["name"] for c in skipped],
        )
        if failed and params["fail_on_error"]:
            msg = "; ".join("%s: %s. %s" % (c["name"], c["detail"], c.get("remedy", "")) for c in failed)
            self.module.fail_json(msg="The instance does not serve from the bucket as it should. " + msg, **result)
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_by=dict(reclaim_manifest=["media_path"])
    )
    VerifyManager(module).run()


if __name__ == "__main__":
    main()
