"""The failure admins actually see ("fonts missing") only shows in a browser: open the page in
Debian's headless chromium and check the theme CSS, the web font and a cover load from the
bucket, with no CORS, CSP, mixed-content or 404 error in the console."""

import json
import time

import pytest

# Requests the browser makes by itself, not the page (the page links static/images/favicon.ico).
IMPLICIT = ("/favicon.ico",)


@pytest.fixture(scope="module")
def browser():
    from headless_chromium import chromium  # testbed/, on the path through moltest (conftest)

    # browser: the console; performance: the DevTools network events (resource timing hides
    # what a cross-origin stylesheet loads, such as its web font)
    with chromium(logging={"browser": "ALL", "performance": "ALL"}) as driver:
        yield driver


@pytest.fixture(scope="module")
def loaded(browser, target):
    browser.get(target.url)
    # wait until the font has settled (loaded or failed) and the cover is decoded
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = browser.execute_script(
            "return {fonts: document.fonts.status, cover: (document.querySelector('img.book-cover') || {}).complete}"
        )
        if state["fonts"] == "loaded" and state["cover"]:
            break
        time.sleep(0.2)
    return browser


def test_theme_css_and_web_font_apply(loaded):
    family = loaded.execute_script("return getComputedStyle(document.querySelector('.testbed-title')).fontFamily")
    assert "Testbed Sans" in family, f"the theme CSS did not apply: font-family {family}"
    fonts = loaded.execute_script("return Array.from(document.fonts).map(f => [f.family, f.status])")
    assert ['"Testbed Sans"', "loaded"] in fonts or ["Testbed Sans", "loaded"] in fonts, fonts
    assert loaded.execute_script("return document.fonts.check('16px \"Testbed Sans\"')")


def responses(driver) -> dict:
    """URL -> (status, headers) of every response the page received (DevTools network log)."""
    seen = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            headers = {key.lower(): value for key, value in response.get("headers", {}).items()}
            seen[response["url"]] = (response["status"], headers)
    return seen


def test_css_font_and_cover_come_from_the_bucket(loaded, target):
    seen = responses(loaded)
    base = f"{target.storage_url}/"
    print("responses:", {url: status for url, (status, _) in seen.items()})
    for wanted, content_type in (
        ("static/css/themes/bookwyrm-light.css", "text/css"),
        # the theme @imports vendor/icons.css, which loads the font (as BookWyrm's themes do)
        ("static/css/vendor/icons.css", "text/css"),
        ("static/css/fonts/testbed-sans.woff", "font/woff"),
        ("static/images/logo-small.png", "image/png"),
        # the browser picks a cover thumbnail from srcset (images/thumbnails/) or the cover itself
        ("images/", "image/"),
    ):
        hits = {url: answer for url, answer in seen.items() if url.startswith(base + wanted)}
        assert hits, f"the page loaded nothing from {base + wanted}: {sorted(seen)}"
        for url, (status, headers) in hits.items():
            assert status == 200, (url, status)
            assert headers.get("content-type", "").startswith(content_type), (url, headers.get("content-type"))
    font = next(answer for url, (_status, answer) in seen.items() if url.startswith(base + "static/css/fonts/"))
    assert font.get("access-control-allow-origin") == target.origin, font
    cover = loaded.execute_script(
        "const img = document.querySelector('img.book-cover'); return [img.currentSrc, img.naturalWidth]"
    )
    assert cover[0].startswith(base + "images/"), cover
    assert cover[1] > 0, f"the cover {cover[0]} did not load"


def test_no_console_error(loaded):
    errors = [
        entry
        for entry in loaded.get_log("browser")
        if entry["level"] in ("SEVERE", "WARNING") and not any(path in entry["message"] for path in IMPLICIT)
    ]
    assert not errors, "\n".join(entry["message"] for entry in errors)
