"""The verify module's HTTP client against a loopback server: statuses, headers, bodies, a
redirect followed or not, nothing answering; and one TLS context for all its requests."""

import http.server
import ssl
import threading
from types import SimpleNamespace

import pytest
from ansible_collections.bookwyrm.s3.plugins.modules import verify


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/page":
            body = b"<html>page</html>"
            self.send_response(200)
            self.send_header("Vary", "Cookie")
            self.send_header("Vary", "Accept-Encoding")
        elif self.path == "/moved":
            body = b""
            self.send_response(302)
            self.send_header("Location", "/page")
        else:
            body = b"not here"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def manager():
    module = SimpleNamespace(params=dict(timeout=5, validate_certs=True))
    return verify.VerifyManager(module)


def test_answers(site, manager):
    status, headers, body = manager.fetch(site + "/page", "GET", {})
    assert (status, body) == (200, b"<html>page</html>")
    assert headers["vary"] == "Cookie, Accept-Encoding"  # repeated headers joined, as fetch_url does
    status, _headers, body = manager.fetch(site + "/missing", "GET", {})
    assert (status, body) == (404, b"not here")


def test_redirects_followed_or_not(site, manager):
    assert manager.fetch(site + "/moved", "GET", {})[0] == 200
    status, headers, _body = manager.fetch(site + "/moved", "GET", {}, follow=False)
    assert status == 302 and headers["location"] == "/page"


def test_nothing_answering(manager):
    status, headers, body = manager.fetch("http://127.0.0.1:9/page", "GET", {})
    assert status == -1 and body == b"" and "Request failed" in headers["msg"]


def test_one_tls_context_for_every_request(site, manager, monkeypatch):
    """Each context reads the system's CA certificates (~30 ms of CPU): the manager makes one."""

    def no_more(*args, **kwargs):
        raise AssertionError("a TLS context was made for a request")

    monkeypatch.setattr(ssl, "create_default_context", no_more)
    for _attempt in range(3):
        assert manager.fetch(site + "/page", "GET", {})[0] == 200
