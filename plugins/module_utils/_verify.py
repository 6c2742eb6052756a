# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks that a BookWyrm instance really serves its static files and media from the bucket,
the way a browser sees it. Read-only: only GET, HEAD and OPTIONS requests.

Each check returns a dict: name, ok, detail and, when it fails, what to fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from urllib.parse import urljoin, urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urljoin, urlsplit  # type: ignore

URL_ATTR_RE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
STYLESHEET_RE = re.compile(r"""<link[^>]+rel=["']?stylesheet["']?[^>]*>""", re.IGNORECASE)
HREF_RE = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
FONT_URL_RE = re.compile(r"""url\(\s*["']?([^"')]+\.(?:woff2?|ttf|otf)(?:[?#][^"')]*)?)["']?\s*\)""", re.IGNORECASE)
FONT_TYPES = ("font/", "application/font", "application/x-font", "application/vnd.ms-fontobject")


def check(name, ok, detail, remedy=None):
    result = {"name": name, "ok": bool(ok), "detail": detail}
    if not ok and remedy:
        result["remedy"] = remedy
    return result


class SiteVerifier(object):
    """``fetch(url, method, headers)`` returns (status, headers dict lower-cased, body bytes)."""

    def __init__(self, fetch, instance_url, storage_url, origin, listing_url=None):
        self.fetch = fetch
        self.instance_url = instance_url
        self.storage_url = storage_url.rstrip("/")
        self.origin = origin
        self.listing_url = listing_url
        self.checks = []

    def add(self, *args, **kwargs):
        result = check(*args, **kwargs)
        self.checks.append(result)
        return result["ok"]

    def _absolute(self, url, base):
        return urljoin(base, url)

    def page_urls(self, html):
        urls = [self._absolute(u, self.instance_url) for u in URL_ATTR_RE.findall(html)]
        static = [u for u in urls if "/static/" in urlsplit(u).path]
        media = [u for u in urls if "/images/" in urlsplit(u).path]
        sheets = [
            self._absolute(h, self.instance_url) for tag in STYLESHEET_RE.findall(html) for h in HREF_RE.findall(tag)
        ]
        return static, media, sheets

    def run(self):
        status, _headers, body = self.fetch(self.instance_url, "GET", {})
        if not self.add(
            "page",
            status == 200,
            "%s answered %s" % (self.instance_url, status),
            "The instance does not answer: check `docker compose ps` and the web container's logs.",
        ):
            return self.checks
        html = body.decode("utf-8", "replace")
        static, media, sheets = self.page_urls(html)
        static_base, media_base = self.storage_url + "/static/", self.storage_url + "/images/"

        local_static = [u for u in static if not u.startswith(static_base)]
        self.add(
            "page static URLs",
            static and not local_static,
            "%d static URLs, %d not under %s%s"
            % (len(static), len(local_static), static_base, (": " + local_static[0]) if local_static else ""),
            "The running web container does not use the bucket for static files: is USE_S3=true in .env, "
            "AWS_S3_CUSTOM_DOMAIN right, and was the container recreated (docker compose up -d)?",
        )
        local_media = [u for u in media if not u.startswith(media_base)]
        self.add(
            "page media URLs",
            not local_media,
            "%d media URLs, %d not under %s" % (len(media), len(local_media), media_base),
            "Media URLs still point at the instance: check USE_S3 and AWS_S3_CUSTOM_DOMAIN, then recreate web.",
        )

        css_url = next((u for u in sheets if u.startswith(static_base)), None)
        if css_url is None:
            self.add(
                "stylesheet",
                False,
                "no stylesheet under %s on the page" % static_base,
                "Run compile_themes and collectstatic in one container (the role's static phase).",
            )
        else:
            self.check_stylesheet(css_url)
        media_url = next((u for u in media if u.startswith(media_base)), None)
        if media_url:
            self.check_asset(
                "media file",
                media_url,
                ("image/",),
                "Copy the media volume to the bucket (media copy phase) and make images/ public.",
            )
        else:
            self.add("media file", True, "the page shows no media to fetch")
        if self.listing_url:
            status, _headers, body = self.fetch(self.listing_url, "GET", {})
            listed = status == 200 and b"ListBucketResult" in body
            self.add(
                "anonymous listing refused",
                not listed,
                "%s answered %s" % (self.listing_url, status),
                "Anyone can list the bucket: remove public-read from the bucket ACL and any policy "
                "granting s3:ListBucket to everyone.",
            )
        return self.checks

    def check_asset(self, name, url, types, remedy, headers=None):
        status, got, _body = self.fetch(url, "GET", headers or {})
        ctype = got.get("content-type", "")
        ok = status == 200 and ctype.startswith(types)
        self.add(name, ok, "%s answered %s (%s)" % (url, status, ctype or "no content type"), remedy)
        return ok, got

    def check_stylesheet(self, css_url):
        ok, _headers = self.check_asset(
            "stylesheet",
            css_url,
            ("text/css",),
            "Collect static files to the bucket and make static/ publicly readable.",
        )
        if not ok:
            return
        _status, _headers, body = self.fetch(css_url, "GET", {})
        fonts = FONT_URL_RE.findall(body.decode("utf-8", "replace"))
        if not fonts:
            self.add("web font", True, "the stylesheet loads no web font")
            return
        font_url = self._absolute(fonts[0], css_url)
        ok, got = self.check_asset(
            "web font",
            font_url,
            FONT_TYPES,
            "The font is missing or served with the wrong type: collect static again.",
            headers={"Origin": self.origin},
        )
        allowed = got.get("access-control-allow-origin")
        if ok:
            self.add(
                "font CORS",
                allowed in (self.origin, "*"),
                "GET with Origin %s: Access-Control-Allow-Origin %s" % (self.origin, allowed),
                "Browsers will refuse the font ('fonts missing'): add %s to the bucket's CORS rules "
                "(bucket_cors) or, for MinIO, to MINIO_API_CORS_ALLOW_ORIGIN." % self.origin,
            )
        status, got, _body = self.fetch(
            font_url, "OPTIONS", {"Origin": self.origin, "Access-Control-Request-Method": "GET"}
        )
        allowed = got.get("access-control-allow-origin")
        self.add(
            "CORS preflight",
            status in (200, 204) and allowed in (self.origin, "*"),
            "OPTIONS from %s answered %s, Access-Control-Allow-Origin %s" % (self.origin, status, allowed),
            "Put CORS rules allowing %s (GET, HEAD) on the bucket." % self.origin,
        )
