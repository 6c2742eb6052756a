"""Poll an instance's page while a migration runs; record every failure and the longest gap.

    poller.py --url http://localhost:8102/ --out DIR [--interval 0.2] [--max-seconds 600]

Loopback only, bounded in time and requests. Stops at the deadline, after --max-requests, or
when DIR/stop exists. DIR/poll.json (rewritten every few seconds, ``finished`` at the end):
requests, ok, failures (every answer that is not 2xx/3xx and every connection error, with
its time), slow (answers that took over 1 s), longest_gap (seconds between two successful
answers, the run's edges included).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 3xx is an answer: do not follow it
        return None


def get(opener, url: str, timeout: float):
    try:
        with opener.open(url, timeout=timeout) as response:
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--max-requests", type=int, default=4000)
    args = parser.parse_args(argv)

    parsed = urllib.parse.urlsplit(args.url)
    if parsed.scheme != "http" or parsed.hostname not in LOOPBACK:
        parser.error("only http:// URLs on the loopback interface")
    args.out.mkdir(parents=True, exist_ok=True)
    stop_file, summary_file = args.out / "stop", args.out / "poll.json"
    stop_file.unlink(missing_ok=True)
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))

    started = time.time()
    t0 = time.monotonic()
    last_ok = t0
    longest = {"seconds": 0.0, "from": 0.0, "to": 0.0}
    summary = {
        "url": args.url,
        "pid": os.getpid(),
        "started": started,
        "interval": args.interval,
        "requests": 0,
        "ok": 0,
        "failures": [],
        "slow": [],  # answers that took more than a second
        "statuses": {},
        "longest_gap": longest,
        "finished": False,
    }
    last_write = 0.0
    while True:
        now = time.monotonic()
        if stop_file.exists() or now - t0 > args.max_seconds or summary["requests"] >= args.max_requests:
            break
        status, error = get(opener, args.url, args.timeout)
        answered = time.monotonic()
        if answered - now > 1:
            summary["slow"].append({"at": round(now - t0, 3), "seconds": round(answered - now, 3), "status": status})
        summary["requests"] += 1
        key = str(status) if status else "error"
        summary["statuses"][key] = summary["statuses"].get(key, 0) + 1
        if status is not None and 200 <= status < 400:
            summary["ok"] += 1
            if answered - last_ok > longest["seconds"]:
                longest.update(seconds=round(answered - last_ok, 3), **{"from": round(last_ok - t0, 3)})
                longest["to"] = round(answered - t0, 3)
            last_ok = answered
        else:
            summary["failures"].append({"at": round(answered - t0, 3), "status": status, "error": error})
        if answered - last_write > 2:
            summary["seconds"] = round(answered - t0, 3)
            write(summary_file, summary)
            last_write = answered
        time.sleep(max(0.0, args.interval - (time.monotonic() - now)))
    end = time.monotonic()
    if end - last_ok > longest["seconds"]:  # still failing when polling stopped
        longest.update(seconds=round(end - last_ok, 3), **{"from": round(last_ok - t0, 3)})
        longest["to"] = round(end - t0, 3)
    summary.update(seconds=round(end - t0, 3), finished=True)
    write(summary_file, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
