"""Poll an instance while a migration or a rollback runs, as a logged-in reader would.

    poller.py --url http://localhost:8102/ [--media-url URL] [--cookie sessionid=x] --out DIR
              [--rate 10] [--timeout 10] [--max-seconds 900] [--max-requests 40000]

For each URL (the page, and one media URL when given) a request starts every 1/--rate seconds,
whatever the earlier ones take (answers are awaited in a pool of threads).
The cookie stands for a reader's session: BookWyrm's nginx then neither serves the page from its
cache nor stores it, so every request reaches the web container. Loopback only, bounded in time
and requests; stops at the deadline, after --max-requests, or when DIR/stop exists.

DIR/poll.json (rewritten every few seconds, ``finished`` at the end): requests, ok (2xx),
failures (every answer that is not 2xx, redirects included, and every connection error, with its
time and URL), slow (answers slower than 1 s), slowest, statuses, rate (requests a second per
URL over the run), longest_gap (seconds between two 2xx answers, the run's edges included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LOOPBACK = {"localhost", "127.0.0.1", "::1"}
KEEP = 500
MAX_IN_FLIGHT = 32  # requests of one URL waiting for their answers at once (a hang shows as slow, then failed)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 3xx is an answer (and a failure): do not follow it
        return None


def get(opener, url: str, timeout: float, headers: dict):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http checked in main
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return response.status, ""
    except urllib.error.HTTPError as err:
        return err.code, ""
    except Exception as err:  # noqa: BLE001 - every failure to answer counts
        return None, f"{type(err).__name__}: {err}"


def write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


class Poller:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.last_ok = self.t0
        self.longest = {"seconds": 0.0, "from": 0.0, "to": 0.0}
        self.counts = {}
        self.spans = {}  # URL name -> [first request's start, last request's start]
        self.summary = {
            "url": args.url,
            "media_url": args.media_url,
            "cookie": bool(args.cookie),
            "pid": os.getpid(),
            "started": time.time(),
            "target_rate": args.rate,
            "requests": 0,
            "ok": 0,
            "failed": 0,  # every failure is counted; the lists below keep the first KEEP
            "failures": [],
            "slow": [],
            "slowest": {"seconds": 0.0, "at": 0.0, "url": None, "status": None},
            "statuses": {},
            "rate": {},
            "longest_gap": self.longest,
            "finished": False,
        }

    def gap_until(self, moment):
        """Called with the lock held: the time since the last 2xx answer, kept when the longest."""
        if moment - self.last_ok > self.longest["seconds"]:
            self.longest.update(seconds=round(moment - self.last_ok, 3))
            self.longest.update({"from": round(self.last_ok - self.t0, 3), "to": round(moment - self.t0, 3)})

    def record(self, name, url, started, answered, status, error):
        at, took = round(started - self.t0, 3), round(answered - started, 3)
        with self.lock:
            s = self.summary
            s["requests"] += 1
            self.counts[name] = self.counts.get(name, 0) + 1
            self.spans.setdefault(name, [started, started])[1] = started
            key = str(status) if status else "error"
            s["statuses"][key] = s["statuses"].get(key, 0) + 1
            if took > s["slowest"]["seconds"]:
                s["slowest"] = {"seconds": took, "at": at, "url": url, "status": status}
            if took > 1 and len(s["slow"]) < KEEP:
                s["slow"].append({"at": at, "seconds": took, "url": url, "status": status})
            if status is not None and 200 <= status < 300:
                s["ok"] += 1
                self.gap_until(answered)
                self.last_ok = max(self.last_ok, answered)
            else:
                s["failed"] += 1
                if len(s["failures"]) < KEEP:
                    s["failures"].append({"at": at, "url": url, "status": status, "error": error})

    def loop(self, name, url):
        """Start one request every 1/rate seconds whatever the answers take (a steady offered load,
        as readers arriving): each runs in a pool thread, so a slow answer delays no other request."""
        opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
        headers = {"Cookie": self.args.cookie} if self.args.cookie else {}
        interval = 1.0 / self.args.rate

        def one():
            started = time.monotonic()
            status, error = get(opener, url, self.args.timeout, headers)
            self.record(name, url, started, time.monotonic(), status, error)

        with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix=f"poll-{name}") as pool:
            next_at = time.monotonic()
            while not self.stop.is_set():
                pool.submit(one)
                next_at += interval
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def snapshot(self, finished=False):
        now = time.monotonic()
        with self.lock:
            seconds = max(now - self.t0, 1e-9)
            if finished:  # still failing when polling stopped
                self.gap_until(now)
            # requests a second between each URL's first and last request (the pace it was polled at)
            self.summary["rate"] = {
                name: round((count - 1) / max(self.spans[name][1] - self.spans[name][0], 1e-9), 2) if count > 1 else 0.0
                for name, count in self.counts.items()
            }
            self.summary.update(seconds=round(seconds, 3), finished=finished)
            return json.loads(json.dumps(self.summary))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--media-url")
    parser.add_argument("--cookie", help="Cookie header, e.g. sessionid=reader (a logged-in reader)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--rate", type=float, default=10.0, help="requests a second, per URL")
    parser.add_argument("--interval", type=float, help="seconds between requests (instead of --rate)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--max-requests", type=int, default=40000)
    args = parser.parse_args(argv)
    if args.interval:
        args.rate = 1.0 / args.interval
    for url in filter(None, (args.url, args.media_url)):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or parsed.hostname not in LOOPBACK:
            parser.error("only http:// URLs on the loopback interface")
    args.out.mkdir(parents=True, exist_ok=True)
    stop_file, summary_file = args.out / "stop", args.out / "poll.json"
    stop_file.unlink(missing_ok=True)

    poller = Poller(args)
    targets = {"page": args.url, **({"media": args.media_url} if args.media_url else {})}
    threads = [threading.Thread(target=poller.loop, args=item, daemon=True) for item in targets.items()]
    for thread in threads:
        thread.start()
    write(summary_file, poller.snapshot())
    while True:
        time.sleep(0.5)
        done = stop_file.exists() or time.monotonic() - poller.t0 > args.max_seconds
        if done or poller.summary["requests"] >= args.max_requests:
            break
        write(summary_file, poller.snapshot())
    poller.stop.set()
    for thread in threads:
        thread.join(timeout=args.timeout + 5)
    write(summary_file, poller.snapshot(finished=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
