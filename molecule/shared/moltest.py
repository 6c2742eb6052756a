"""What the scenarios' testinfra verifiers share: the instance, its bucket, its media volume.

The verifiers run on this machine (the molecule host is local), so they read the test bed
directly: the S3 server's endpoint and credentials from .testbed/s3.env, the instance from
.testbed/instances/<name>. The inventory host's name is the instance's and the bucket's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
if str(REPO_DIR / "testbed") not in sys.path:
    sys.path.insert(0, str(REPO_DIR / "testbed"))

import bookwyrm_testbed as bed  # noqa: E402
import ssh_target  # noqa: E402

http_get = bed.http_get
# The admin who owns the checkout's .env and whom Ansible connects as (become root).
ADMIN = ssh_target.SSH_USER
CACHE_CONTROL = "max-age=86400"


@dataclass
class Target:
    """The scenario's instance and bucket."""

    name: str

    @cached_property
    def instance(self) -> bed.Instance:
        return bed.load_instance(self.name)

    @property
    def bucket(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return self.instance.url

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    @cached_property
    def s3(self) -> bed.S3Server:
        return bed.load_s3()

    @property
    def storage_url(self) -> str:
        """Where the bucket's files are served (the seaweedfs profile: endpoint/bucket)."""
        return f"{self.s3.endpoint_url.rstrip('/')}/{self.bucket}"

    def client(self):
        return self.s3.client()

    def anonymous_client(self):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.s3.endpoint_url,
            region_name=self.s3.region,
            config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def keys(self, prefix: str) -> set[str]:
        keys = set()
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys

    @property
    def media_dir(self) -> Path:
        out = subprocess.run(
            ["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", self.instance.volume("media")],
            check=True,
            capture_output=True,
            text=True,
        )
        return Path(out.stdout.strip())

    @property
    def exports_bucket(self) -> str:
        """The scenario's private exports bucket (host_vars: bookwyrm_s3_exports_bucket)."""
        return f"{self.name}-exports"

    def local_exports(self) -> set[str]:
        """Names of the files in the exports volume."""
        out = subprocess.run(
            ["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", self.instance.volume("exports")],
            check=True,
            capture_output=True,
            text=True,
        )
        root = Path(out.stdout.strip())
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    def download_export(self, archive_id: int) -> tuple[int, bytes, str]:
        """An export as a user downloads it through the instance (status, body, where it came
        from): BookWyrm redirects to a signed URL of the exports bucket, or serves the file."""
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - the bed's own http://localhost URL
            f"{self.url}preferences/user-export/{archive_id}", headers={"Cookie": "sessionid=molecule-reader"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the bed's loopback URL
                return response.status, response.read(), response.geturl()
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.geturl()

    def local_media(self) -> set[str]:
        """Relative paths of every file in the media volume."""
        root = self.media_dir
        return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}

    def env(self) -> dict:
        return self.instance.read_env()

    def report(self, path: Path | None = None) -> dict:
        return json.loads((path or self.report_path).read_text())

    @property
    def report_path(self) -> Path:
        return self.instance.directory / "bookwyrm-s3-report.json"

    def containers(self, service: str) -> list[str]:
        out = self.instance.compose("ps", "-q", service)
        return out.stdout.split()

    def health(self, container: str) -> str:
        out = subprocess.run(
            [
                "docker",
                "inspect",
                "--format",
                "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                container,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def page_urls(self) -> dict:
        """The page's static and media URLs (its machine-readable meta tags), every media URL it links
        (local /images/ or the bucket's images/) and its body, as a logged-in reader gets the page:
        the session cookie makes BookWyrm's nginx bypass its cache of anonymous pages."""
        import re

        status, _, body = http_get(self.url, headers={"Cookie": "sessionid=molecule-reader"})
        assert status == 200, f"{self.url} answered {status}"
        text = body.decode()
        found = dict(re.findall(r'<meta name="bookwyrm-(static|media)-url" content="([^"]*)"', text))
        linked = re.findall(r'(?:src|href)="([^"]+)"', text)
        linked += [part.split()[0] for srcset in re.findall(r'srcset="([^"]+)"', text) for part in srcset.split(",")]
        media_roots = ("/images/", self.url + "images/", f"{self.storage_url}/images/")
        media_urls = [url for url in linked if url.startswith(media_roots)]
        urls = {"static": found.get("static", ""), "media": found.get("media", "")}
        return {**urls, "body": text, "media_urls": media_urls}


def secret_key() -> str:
    return bed.load_s3().secret_key


def ephemeral_dir() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def stop_poller() -> dict:
    """Stop the poller prepare started; its summary once it has finished (20 s at most)."""
    directory = ephemeral_dir() / "poller"
    (directory / "stop").touch()
    deadline = time.monotonic() + 20
    summary = {}
    while time.monotonic() < deadline:
        summary = json.loads((directory / "poll.json").read_text())
        if summary["finished"]:
            break
        time.sleep(0.3)
    assert summary.get("finished"), "the poller did not stop"
    return summary
