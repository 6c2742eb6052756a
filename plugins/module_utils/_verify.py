# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks that a BookWyrm instance really serves its static files and media from the bucket,
the way a browser sees it. Read-only: only GET, HEAD and OPTIONS requests.

Each check returns a dict: name, ok, detail and, when it fails, what to fix. A check that found
nothing to test says so with ``skipped: true`` (or fails, where BookWyrm always has something to
test, such as the theme's icon font): it never passes silently.

What BookWyrm pages look like (v0.9.2): static files live under STATIC_URL (``.../static/``,
including the logo and favicon under ``static/images/``), media under MEDIA_URL
(``.../images/``); the theme stylesheet pulls its fonts in through ``@import`` of
``../vendor/icons.css``; covers may come with ``srcset`` thumbnails; nginx caches anonymous pages
for a minute unless a session cookie is sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import time

try:
    from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit
except ImportError:  # pragma: no cover
    from urllib import quote, urlencode  # type: ignore

    from urlparse import urljoin, urlsplit, urlunsplit  # type: ignore

URL_ATTR_RE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
SRCSET_RE = re.compile(r"""srcset\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
STYLESHEET_RE = re.compile(r"""<link[^>]+rel=["']?stylesheet["']?[^>]*>""", re.IGNORECASE)
HREF_RE = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
FONT_URL_RE = re.compile(r"""url\(\s*["']?([^"')]+\.(?:woff2?|ttf|otf)(?:[?#][^"')]*)?)["']?\s*\)""", re.IGNORECASE)
# @import "x.css";  @import 'x.css' screen;  @import url(x.css);  @import url("x.css");
IMPORT_RE = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.IGNORECASE)
CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
FONT_TYPES = ("font/", "application/font", "application/x-font", "application/vnd.ms-fontobject")
MAX_STYLESHEETS = 12  # the theme and what it imports, cycles and runaway chains cut off
# A reader's session cookie: BookWyrm's nginx neither answers it from its cache of anonymous pages
# (proxy_cache_bypass $cookie_sessionid) nor stores the answer. Django finds no such session and
# treats the request as anonymous.
CACHE_BYPASS_COOKIE = "sessionid=bookwyrm-s3-verify"
CACHE_BUST_PARAM = "bookwyrm-s3-verify"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def check(name, ok, detail, remedy=None, skipped=False):
    result = {"name": name, "ok": bool(ok), "detail": detail}
    if skipped:
        result["skipped"] = True
    if not ok and remedy:
        result["remedy"] = remedy
    return result


def cache_busting_url(url, token=None):
    """url with a query parameter no cache has seen (proxy caches key on the query string)."""
    parts = urlsplit(url)
    extra = urlencode({CACHE_BUST_PARAM: token or "%x" % int(time.time() * 1000)})
    query = parts.query + "&" + extra if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def stylesheet_links(css_text, base):
    """(font URLs, imported stylesheet URLs) of a stylesheet, absolute against its own URL."""
    text = CSS_COMMENT_RE.sub("", css_text)
    fonts = [urljoin(base, u.strip()).split("#", 1)[0] for u in FONT_URL_RE.findall(text)]
    imports = [urljoin(base, u.strip()) for u in IMPORT_RE.findall(text)]
    return fonts, imports


class SiteVerifier(object):
    """``fetch(url, method, headers, follow=True)`` returns (status, headers dict lower-cased, body
    bytes); ``follow=False`` answers a redirect itself instead of following it.

    ``old_links``: media removed from the instance's disk by a reclaim (manifest entries: path,
    md5); their old ``/images/`` URL on the instance must redirect to the same bytes in the bucket.
    """

    def __init__(self, fetch, instance_url, storage_url, origin, listing_url=None, bypass_cache=True, old_links=None):
        self.fetch = fetch
        self.instance_url = instance_url
        self.storage_url = storage_url.rstrip("/")
        self.origin = origin
        self.listing_url = listing_url
        self.bypass_cache = bypass_cache
        self.old_links = old_links or []
        self.static_base = self.storage_url + "/static/"  # STATIC_URL once on the bucket
        self.media_base = self.storage_url + "/images/"  # MEDIA_URL once on the bucket
        self.checks = []

    def add(self, *args, **kwargs):
        result = check(*args, **kwargs)
        self.checks.append(result)
        return result["ok"]

    def _absolute(self, url, base):
        return urljoin(base, url)

    def kind(self, url):
        """'static' or 'media' by prefix: STATIC_URL or MEDIA_URL on the bucket, /static/ or /images/
        on the instance itself; None for anything else (pages, other hosts)."""
        if url.startswith(self.static_base):
            return "static"
        if url.startswith(self.media_base):
            return "media"
        parts, own = urlsplit(url), urlsplit(self.instance_url)
        if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
            if parts.path.startswith("/static/"):
                return "static"
            if parts.path.startswith("/images/"):
                return "media"
        return None

    def page_urls(self, html):
        found = URL_ATTR_RE.findall(html)
        found += [
            part.strip().split()[0] for srcset in SRCSET_RE.findall(html) for part in srcset.split(",") if part.strip()
        ]
        urls = [self._absolute(u, self.instance_url) for u in found]
        static = [u for u in urls if self.kind(u) == "static"]
        media = [u for u in urls if self.kind(u) == "media"]
        sheets = [
            self._absolute(h, self.instance_url) for tag in STYLESHEET_RE.findall(html) for h in HREF_RE.findall(tag)
        ]
        return static, media, sheets

    def fetch_page(self):
        if not self.bypass_cache:
            return self.fetch(self.instance_url, "GET", {})
        return self.fetch(cache_busting_url(self.instance_url), "GET", {"Cookie": CACHE_BYPASS_COOKIE})

    def run(self):
        status, _headers, body = self.fetch_page()
        if not self.add(
            "page",
            status == 200,
            "%s answered %s" % (self.instance_url, status),
            "The instance does not answer: check `docker compose ps` and the web container's logs.",
        ):
            return self.checks
        html = body.decode("utf-8", "replace")
        static, media, sheets = self.page_urls(html)
        static_base, media_base = self.static_base, self.media_base

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
        if media:
            self.add(
                "page media URLs",
                not local_media,
                "%d media URL%s, %d not under %s%s"
                % (
                    len(media),
                    "" if len(media) == 1 else "s",
                    len(local_media),
                    media_base,
                    (": " + local_media[0]) if local_media else "",
                ),
                "Media URLs still point at the instance: check USE_S3 and AWS_S3_CUSTOM_DOMAIN, recreate web, "
                "and clear BookWyrm's cached template fragments (they keep the URLs they were rendered with).",
            )
        else:
            self.add(
                "page media URLs",
                True,
                "the page links no media (no cover or avatar on it): nothing to check",
                skipped=True,
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
        elif media:
            self.add(
                "media file",
                False,
                "no media URL under %s to fetch (the page's %d are elsewhere)" % (media_base, len(media)),
                "Media URLs still point at the instance: see 'page media URLs'.",
            )
        else:
            self.add("media file", True, "the page shows no media to fetch: nothing tested", skipped=True)
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
        for link in self.old_links:
            self.check_old_link(link)
        return self.checks

    def check_old_link(self, link):
        """An old /images/ link of a file reclaimed from the disk: a redirect to the same bytes."""
        own = urlsplit(self.instance_url)
        path = quote(link["path"], safe="/")
        old = urlunsplit((own.scheme, own.netloc, "/images/" + path, "", ""))
        wanted = self.media_base + path
        status, headers, _body = self.fetch(old, "GET", {}, follow=False)
        location = urljoin(old, headers.get("location", ""))
        if not self.add(
            "old media link",
            status in REDIRECT_STATUSES and location == wanted,
            "%s answered %s%s" % (old, status, (", Location " + location) if headers.get("location") else ""),
            "Files removed from the disk by reclaim.yml are only in the bucket: the proxy must redirect %s to %s "
            "(run reclaim.yml again, which puts the redirect in place, or roll back)." % (old, wanted),
        ):
            return
        status, _headers, body = self.fetch(location, "GET", {})
        md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - compared with the manifest's MD5
        self.add(
            "old media link content",
            status == 200 and md5 == link["md5"],
            "%s answered %s, %d bytes, md5 %s (the file removed: md5 %s)"
            % (location, status, len(body), md5, link["md5"]),
            "The bucket does not serve the file that was removed: roll back (rollback.yml brings it back from the "
            "bucket and fails when it cannot).",
        )

    def check_asset(self, name, url, types, remedy, headers=None):
        status, got, body = self.fetch(url, "GET", headers or {})
        ctype = got.get("content-type", "")
        ok = status == 200 and ctype.startswith(types)
        self.add(name, ok, "%s answered %s (%s)" % (url, status, ctype or "no content type"), remedy)
        return ok, got, body

    def find_fonts(self, css_url, css_body):
        """Font URLs of the stylesheet and of every stylesheet it @imports (breadth first)."""
        fonts, read, queue, seen = [], 1, [], set([css_url])
        found, imports = stylesheet_links(css_body.decode("utf-8", "replace"), css_url)
        fonts.extend(found)
        queue.extend(imports)
        while queue and read < MAX_STYLESHEETS:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            status, _headers, body = self.fetch(url, "GET", {})
            read += 1
            if status != 200:
                continue
            found, imports = stylesheet_links(body.decode("utf-8", "replace"), url)
            fonts.extend(found)
            queue.extend(imports)
        return fonts, read

    def check_stylesheet(self, css_url):
        ok, _headers, body = self.check_asset(
            "stylesheet",
            css_url,
            ("text/css",),
            "Collect static files to the bucket and make static/ publicly readable.",
        )
        if not ok:
            return
        fonts, read = self.find_fonts(css_url, body)
        if not fonts:
            self.add(
                "web font",
                False,
                "no web font in %s nor in the %d stylesheet(s) it imports: the font and CORS checks tested "
                "nothing" % (css_url, read - 1),
                "BookWyrm's theme loads its icon font through @import of ../vendor/icons.css: collect the static "
                "files again (the role's static phase) and check that the imported stylesheets are in the bucket.",
            )
            return
        font_url = next((u for u in fonts if u.startswith(self.static_base)), fonts[0])
        ok, got, _body = self.check_asset(
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
