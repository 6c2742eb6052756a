"""SiteVerifier against a fake web: every check passes on a good site and names the fix on a bad one."""

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
