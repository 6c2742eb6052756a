"""SiteVerifier against a fake web: every check passes on a good site and names the fix on a bad one."""

from urllib.parse import parse_qs, urlsplit

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._verify import SiteVerifier

INSTANCE = "https://books.example.com/"
STORAGE = "https://media.example.com"
ORIGIN = "https://books.example.com"
CSS = STORAGE + "/static/css/themes/bookwyrm-light.css"
FONT = STORAGE + "/static/fonts/sans.woff2"
COVER = STORAGE + "/images/covers/a.png"


def page(static=STORAGE + "/static/", media=STORAGE + "/images/"):
    return (
        f'<html><head><link rel="stylesheet" href="{static}css/themes/bookwyrm-light.css">'
        f'<script src="{static}js/app.js"></script></head>'
        f'<body><img src="{media}covers/a.png"><a href="/book/1">x</a></body></html>'
    ).encode()


class FakeWeb:
    def __init__(self, html=None, cors_origin=ORIGIN, listing=403, font_type="font/woff2"):
        self.html = html if html is not None else page()
        self.cors_origin = cors_origin
        self.listing = listing
        self.font_type = font_type
        self.requests = []

    def __call__(self, url, method, headers):
        self.requests.append((method, url, dict(headers)))
        if url.split("?", 1)[0] == INSTANCE:
            url = INSTANCE  # the page answers whatever the (cache-busting) query
        acao = {"access-control-allow-origin": self.cors_origin} if self.cors_origin and "Origin" in headers else {}
        if url == INSTANCE:
            return 200, {"content-type": "text/html"}, self.html
        if url == CSS:
            return 200, {"content-type": "text/css"}, b'@font-face{src:url("../../fonts/sans.woff2")}'
        if url == FONT:
            status = 200 if method in ("GET", "OPTIONS") else 405
            return status, dict({"content-type": self.font_type}, **acao), b"wOF2"
        if url == COVER:
            return 200, {"content-type": "image/png"}, b"\x89PNG"
        if url == STORAGE + "/":
            body = b"<ListBucketResult>" if self.listing == 200 else b"<Error>AccessDenied</Error>"
            return self.listing, {}, body
        return 404, {}, b""


def run(web):
    return {c["name"]: c for c in SiteVerifier(web, INSTANCE, STORAGE, ORIGIN, STORAGE + "/").run()}


def test_good_site_passes_every_check():
    checks = run(FakeWeb())
    assert all(c["ok"] for c in checks.values()), checks
    assert set(checks) == {
        "page", "page static URLs", "page media URLs", "stylesheet", "web font", "font CORS", "CORS preflight",
        "media file", "anonymous listing refused",
    }  # fmt: skip


def test_only_reads():
    web = FakeWeb()
    run(web)
    assert {method for method, _url, _headers in web.requests} <= {"GET", "OPTIONS"}


def test_local_static_is_reported_with_a_fix():
    checks = run(FakeWeb(html=page(static="/static/", media="/images/")))
    assert not checks["page static URLs"]["ok"]
    assert "USE_S3" in checks["page static URLs"]["remedy"]
    assert not checks["page media URLs"]["ok"]


@pytest.mark.parametrize("origin", [None, "https://other.example"])
def test_missing_cors_names_the_origin(origin):
    checks = run(FakeWeb(cors_origin=origin))
    assert not checks["CORS preflight"]["ok"]
    assert ORIGIN in checks["CORS preflight"]["remedy"]
    assert not checks["font CORS"]["ok"]


def test_public_listing_fails():
    checks = run(FakeWeb(listing=200))
    assert not checks["anonymous listing refused"]["ok"]


def test_wrong_font_type_fails():
    checks = run(FakeWeb(font_type="text/plain"))
    assert not checks["web font"]["ok"]


def test_instance_down_stops_early():
    checks = SiteVerifier(lambda *a: (502, {}, b""), INSTANCE, STORAGE, ORIGIN).run()
    assert [c["name"] for c in checks] == ["page"]
    assert not checks[0]["ok"]


# --- BookWyrm v0.9.2 as measured (issue 10) -----------------------------------------------

VENDOR = STORAGE + "/static/css/vendor/icons.css"
ICON_FONT = STORAGE + "/static/css/fonts/icomoon.woff"
LOGO = STORAGE + "/static/images/logo-small.png"


def bookwyrm_page(static=STORAGE + "/static/", media=STORAGE + "/images/", cover=True):
    """Like every BookWyrm page: the theme link with href first, favicon and logos under static/images/."""
    return (
        f'<html><head><link href="{static}css/themes/bookwyrm-light.css" rel="stylesheet" type="text/css" />'
        f'<link rel="shortcut icon" type="image/x-icon" href="{static}images/favicon.ico">'
        f'<link rel="apple-touch-icon" href="{static}images/logo.png"></head>'
        f'<body><img class="image logo" src="{static}images/logo-small.png">'
        + (f'<img class="book-cover" src="{media}covers/a.png">' if cover else "")
        + "</body></html>"
    ).encode()


class BookWyrmWeb(FakeWeb):
    """The theme CSS holds no font itself: it @imports the vendor stylesheet that does."""

    def __init__(self, theme=b"@import url(../vendor/icons.css);body{color:#000}", **kwargs):
        super().__init__(html=kwargs.pop("html", bookwyrm_page()), **kwargs)
        self.theme = theme

    def __call__(self, url, method, headers):
        if url == CSS:
            self.requests.append((method, url, dict(headers)))
            return 200, {"content-type": "text/css"}, self.theme
        if url == VENDOR:
            self.requests.append((method, url, dict(headers)))
            return (
                200,
                {"content-type": "text/css"},
                (
                    b"@font-face{font-family:'icomoon';src:url('../fonts/icomoon.eot?nr4nq7');"
                    b"src:url('../fonts/icomoon.eot?nr4nq7#iefix') format('embedded-opentype'),"
                    b"url('../fonts/icomoon.woff?nr4nq7') format('woff')}"
                ),
            )
        if url.split("?", 1)[0] == ICON_FONT:
            self.requests.append((method, url, dict(headers)))
            acao = {"access-control-allow-origin": self.cors_origin} if self.cors_origin and "Origin" in headers else {}
            return 200, dict({"content-type": "font/woff"}, **acao), b"wOFF"
        if url in (LOGO, STORAGE + "/static/images/logo.png", STORAGE + "/static/images/favicon.ico"):
            self.requests.append((method, url, dict(headers)))
            return 200, {"content-type": "image/png"}, b"\x89PNG"
        return super().__call__(url, method, headers)


def test_static_images_are_not_media():
    """1. logo.png, logo-small.png and favicon.ico under STATIC_URL are static files, not media."""
    checks = run(BookWyrmWeb())
    assert checks["page media URLs"]["ok"], checks["page media URLs"]
    assert checks["page media URLs"]["detail"].startswith("1 media URL"), checks["page media URLs"]
    assert checks["media file"]["ok"], checks["media file"]


def test_a_local_static_image_is_a_static_url_not_a_media_one():
    checks = run(BookWyrmWeb(html=bookwyrm_page(static="/static/")))
    assert not checks["page static URLs"]["ok"]
    assert checks["page media URLs"]["ok"], checks["page media URLs"]


def test_fonts_are_found_through_import():
    """4. The theme CSS @imports ../vendor/icons.css, which holds the font URLs."""
    web = BookWyrmWeb()
    checks = run(web)
    assert checks["web font"]["ok"], checks["web font"]
    assert ICON_FONT in checks["web font"]["detail"]
    assert checks["font CORS"]["ok"] and checks["CORS preflight"]["ok"]
    assert any(url.startswith(ICON_FONT) and method == "OPTIONS" for method, url, _extra in web.requests)


@pytest.mark.parametrize(
    "theme",
    [
        b'@import "../vendor/icons.css";',
        b"@import '../vendor/icons.css' screen;",
        b'@import url("../vendor/icons.css")',
    ],
)
def test_every_import_form_is_followed(theme):
    checks = run(BookWyrmWeb(theme=theme))
    assert checks["web font"]["ok"], checks["web font"]
    assert ICON_FONT in checks["web font"]["detail"], checks["web font"]


def test_import_cycles_end():
    web = BookWyrmWeb(theme=b'@import "bookwyrm-light.css";')
    run(web)
    assert sum(1 for _m, url, _h in web.requests if url == CSS) <= 2


def test_missing_cors_is_found_behind_the_import():
    checks = run(BookWyrmWeb(cors_origin=None))
    assert not checks["CORS preflight"]["ok"]
    assert not checks["font CORS"]["ok"]


def test_no_font_found_is_never_a_silent_pass():
    """4. Finding nothing to test must fail (or say it tested nothing), never pass quietly."""
    checks = run(BookWyrmWeb(theme=b"body{color:#000}"))
    font = checks["web font"]
    assert not font["ok"] or font.get("skipped"), font
    assert not font["ok"], "BookWyrm's theme always loads its icon font: finding none is a failure"
    assert "CORS" in font["detail"] or "CORS" in font.get("remedy", "")


def test_no_media_on_the_page_says_so():
    checks = run(BookWyrmWeb(html=bookwyrm_page(cover=False)))
    for name in ("page media URLs", "media file"):
        assert not checks[name]["ok"] or checks[name].get("skipped"), checks[name]
    assert checks["media file"].get("skipped") and "nothing" in checks["media file"]["detail"]


def test_the_page_is_fetched_past_proxy_caches():
    """2. nginx caches anonymous pages for a minute: the page request must bypass that cache."""
    web = BookWyrmWeb()
    run(web)
    method, url, headers = web.requests[0]
    assert method == "GET" and url.startswith(INSTANCE)
    cookie = headers.get("Cookie", "")
    busted = bool(parse_qs(urlsplit(url).query)) or "sessionid=" in cookie
    assert busted, (url, headers)
    assert "sessionid=" in cookie, "a session cookie is what makes BookWyrm's nginx bypass its cache"


# --------------------------------------------------------------------------------------- old links of reclaimed media

OLD = INSTANCE + "images/covers/gone%20one.png"
MOVED = STORAGE + "/images/covers/gone%20one.png"
GONE = {"path": "covers/gone one.png", "md5": "5d41402abc4b2a76b9719d911017c592"}  # md5("hello")


class RedirectingWeb(FakeWeb):
    """The good site, whose nginx answers a reclaimed file's old link with a redirect."""

    def __init__(self, location=MOVED, status=302, body=b"hello", **kw):
        super().__init__(**kw)
        self.location, self.status, self.body = location, status, body
        self.followed = []

    def __call__(self, url, method, headers, follow=True):
        if url == OLD:
            self.followed.append(follow)
            return self.status, {"location": self.location} if self.location else {}, b""
        if url == MOVED:
            return 200, {"content-type": "image/png"}, self.body
        return super().__call__(url, method, headers)


def old_link_checks(web):
    checks = SiteVerifier(web, INSTANCE, STORAGE, ORIGIN, old_links=[GONE]).run()
    return {c["name"]: c for c in checks}


def test_old_link_redirects_to_the_same_bytes():
    web = RedirectingWeb()
    checks = old_link_checks(web)
    assert checks["old media link"]["ok"] and checks["old media link content"]["ok"]
    assert web.followed == [False]  # the redirect itself is what is checked


@pytest.mark.parametrize(
    ("web", "failed"),
    [
        (RedirectingWeb(status=404, location=None), "old media link"),
        (RedirectingWeb(location=STORAGE + "/images/elsewhere.png"), "old media link"),
        (RedirectingWeb(body=b"other bytes"), "old media link content"),
    ],
    ids=["404", "wrong-place", "other-bytes"],
)
def test_old_link_failures_name_the_fix(web, failed):
    checks = old_link_checks(web)
    assert not checks[failed]["ok"]
    assert "reclaim" in checks[failed]["remedy"] or "roll back" in checks[failed]["remedy"]


def test_no_reclaimed_file_no_old_link_check():
    assert "old media link" not in {c["name"] for c in SiteVerifier(FakeWeb(), INSTANCE, STORAGE, ORIGIN).run()}
