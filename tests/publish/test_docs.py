"""The documentation site of `make docs` (tools/docs_site.py: antsibull-docs and Sphinx, any
warning fails the build) as a reader gets it: served on loopback and opened in Debian's headless
Chromium, from the module index to a module page, checked against what ansible-doc says of the
same module. The browser may reach loopback only: every other host name resolves to nothing."""

import functools
import json
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ._env import MAIN_BIN, REPO_DIR, WORK, clean_env, run

PORTS = range(8200, 8210)
MODULES = sorted(p.stem for p in (REPO_DIR / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
MODULE = "bucket"


@pytest.fixture(scope="module")
def site():
    started = time.monotonic()
    built = run([MAIN_BIN / "python", "tools/docs_site.py"], env=clean_env(), timeout=1200)
    assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-6000:]
    print(f"make docs: {time.monotonic() - started:.0f}s")
    return Path(built.stdout.strip().splitlines()[-1]).parent


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            break
        except OSError:
            continue
    else:
        pytest.fail(f"no free port in {PORTS}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from headless_chromium import chromium  # testbed/, on the path through tests/conftest.py

    # only loopback: a page that loaded a font or script from elsewhere would show as a failure
    only_loopback = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    with chromium([only_loopback], logging={"browser": "ALL", "performance": "ALL"}) as driver:
        yield driver


def requested(driver):
    """Network URLs requested since the last call (DevTools events; chrome:// and data: left out)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                urls.append(url)
    return urls


def plain(text):
    """Text as a reader sees it, in ASCII: documentation markup (C(.env)) rendered, Sphinx's
    typographic apostrophe and the en dash of antsibull-docs' titles made plain."""
    text = re.sub(r"\b(?:C|I|B|O|V|RV|E)\(([^)]*)\)", r"\1", text)
    return text.replace("\u2019", "'").replace("\u2013", "-")


def console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def ansible_doc(module):
    """What ansible-doc says of the module, on the tarball installed by tools/docs_site.py."""
    tree = WORK / "docs-installed"
    result = run(
        [MAIN_BIN / "ansible-doc", "--json", f"bookwyrm.s3.{module}"],
        env=clean_env(ANSIBLE_COLLECTIONS_PATH=str(tree)),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[f"bookwyrm.s3.{module}"]


@pytest.fixture(scope="module")
def module_index(browser, base_url):
    browser.get(f"{base_url}/collections/index_module.html")
    return browser


def test_module_index_lists_every_module_with_its_description(module_index, base_url):
    from selenium.webdriver.common.by import By

    assert module_index.find_element(By.TAG_NAME, "h1").text == "Index of all Modules"
    items = module_index.find_elements(By.CSS_SELECTOR, "#bookwyrm-s3 li")
    listed = {item.find_element(By.TAG_NAME, "a").text: item.text for item in items}
    assert sorted(listed) == [f"bookwyrm.s3.{m}" for m in MODULES]
    for module in MODULES:
        description = plain(ansible_doc(module)["doc"]["short_description"])
        assert plain(listed[f"bookwyrm.s3.{module}"]) == f"bookwyrm.s3.{module} - {description}"
    urls = requested(module_index)
    assert urls and all(urlparse(u).hostname == "127.0.0.1" for u in urls), urls
    assert console_errors(module_index) == []


def test_module_page_documents_what_ansible_doc_does(module_index, base_url):
    from selenium.webdriver.common.by import By

    module_index.find_element(By.LINK_TEXT, f"bookwyrm.s3.{MODULE}").click()
    page = module_index
    assert urlparse(page.current_url).path == f"/collections/bookwyrm/s3/{MODULE}_module.html"
    doc = ansible_doc(MODULE)
    title = page.find_element(By.TAG_NAME, "h1").text
    assert plain(title) == f"bookwyrm.s3.{MODULE} module - {plain(doc['doc']['short_description'])}"
    # every top-level option and return value has its row (anchors parameter-NAME / return-NAME)
    anchors = {e.get_attribute("id") for e in page.find_elements(By.CSS_SELECTOR, ".ansibleOptionAnchor")}
    options = {f"parameter-{name}" for name in doc["doc"]["options"]}
    returns = {f"return-{name}" for name in doc["return"]}
    assert options <= anchors, options - anchors
    assert returns <= anchors, returns - anchors
    examples = page.find_element(By.CSS_SELECTOR, "#examples .highlight").text
    assert f"bookwyrm.s3.{MODULE}:" in examples
    assert examples.split()[:4] == doc["examples"].split()[:4]
    # the version it came in, from version_added
    assert f"New in bookwyrm.s3 {doc['doc']['version_added']}" in page.find_element(By.TAG_NAME, "body").text
    urls = requested(page)
    assert urls and all(urlparse(u).hostname == "127.0.0.1" for u in urls), urls
    assert console_errors(page) == []


def test_search_finds_a_module(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}/search.html?q=bucket_cors")
    WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#search-results li a"))
    )
    hits = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#search-results li a")]
    assert any(h.endswith("bucket_cors_module.html") or "bucket_cors_module.html?" in h for h in hits), hits
