"""Debian's headless Chromium driven by Selenium, for the tests that look at a page as a reader
does (molecule migrate's verifier, the docs site of tests/publish/test_docs.py).

Installed on demand (Debian's chromium and chromium-driver, selenium from PyPI; no browser
download of its own), started with the flags this machine needs: no background networking
(the closed network refuses it, many connections at a time), a fresh profile each time.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
)


def ensure_browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode:
            # a new machine has no package lists yet
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    try:
        import selenium  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "selenium"], check=True, capture_output=True)


@contextlib.contextmanager
def chromium(extra_flags=(), logging=None, page_load_timeout=30):
    """A Selenium driver of headless Chromium; logging: goog:loggingPrefs (console, network)."""
    ensure_browser()
    os.environ["SE_AVOID_STATS"] = "true"  # Selenium Manager never runs: the driver is given
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if logging:
        options.set_capability("goog:loggingPrefs", logging)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_load_timeout)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
