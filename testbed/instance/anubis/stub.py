"""Stands for anubis (upstream's bot check in front of every page): nginx's auth_request asks it
about each request to `location /`; it lets every request through. Loopback-free on purpose:
it listens on the compose network only (no published port)."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHECK = "/.within.website/x/cmd/anubis/api/check"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith(CHECK) or self.path == "/healthz":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/robots.txt":
            body = b"User-agent: *\nDisallow:\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *args):  # quiet: nginx logs the requests
        pass


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()  # noqa: S104 - the compose network only
