"""Threads, forked worker processes and the worker count."""

import gc
import multiprocessing
import os
import platform
import subprocess
import sys

import boto3
import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _media_pools as mpl
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_sync import MediaSync
from ansible_collections.bookwyrm.s3.plugins.module_utils._media_transfer import make_signed_put
from media_fixtures import BUCKET, DeadClient, http_client, keys, moto_endpoint, tree  # noqa: F401 - fixtures  # pylint: disable=unused-import


def test_auto_workers_grow_with_the_round_trip():
    assert mpl.auto_workers(None) == 16
    assert mpl.auto_workers(0.0005) == 16
    assert 60 <= mpl.auto_workers(0.040) <= 90
    assert mpl.auto_workers(0.5) == 128


def test_worker_processes_and_signed_put(moto_endpoint, tree):  # noqa: F811
    client = http_client(moto_endpoint)
    bucket = "unit-signed-put"
    credentials = boto3.session.Session(aws_access_key_id="unit", aws_secret_access_key="unit-secret").get_credentials()  # noqa: S106 - moto's fake account
    client.create_bucket(Bucket=bucket)

    def run(**kwargs):
        return MediaSync(
            client,
            bucket,
            "images",
            str(tree),
            workers=4,
            processes=2,
            engine="signed_put",
            signed_put_factory=lambda c, b: make_signed_put(c, b, credentials),
            client_factory=lambda: http_client(moto_endpoint),
            **kwargs,
        ).run()

    first = run(acl="public-read", keep_files=True)
    assert first["stats"]["uploaded"] == 15
    assert first["stats"]["errors"] == 0
    assert first["stats"]["processes"] == 2
    assert len(first["transferred_files"]) == 15
    assert len(keys(client, bucket=bucket)) == 15
    head = client.head_object(Bucket=bucket, Key="images/avatars/a b+%?#ü.png")
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=86400"
    body = client.get_object(Bucket=bucket, Key="images/covers/c3.jpg")["Body"].read()
    assert body == (tree / "covers" / "c3.jpg").read_bytes()
    again = run()
    assert again["stats"]["uploaded"] == 0
    assert again["stats"]["skipped"] == 15


def test_worker_processes_pull(moto_endpoint, tree, tmp_path):  # noqa: F811
    client = http_client(moto_endpoint)
    bucket = "unit-pull"
    client.create_bucket(Bucket=bucket)
    MediaSync(client, bucket, "images", str(tree), workers=2).run()
    target = tmp_path / "pulled"
    target.mkdir()
    result = MediaSync(
        client,
        bucket,
        "images",
        str(target),
        direction="pull",
        workers=0,
        processes=2,
        client_factory=lambda connections: http_client(moto_endpoint),
    ).run()
    assert result["stats"]["downloaded"] == 15
    assert result["stats"]["workers"] >= 16  # sized from the round trip
    assert (target / "covers" / "c5.jpg").read_bytes() == (tree / "covers" / "c5.jpg").read_bytes()


def test_worker_processes_abort_when_the_server_is_gone(tree):  # noqa: F811
    result = MediaSync(
        DeadClient(), BUCKET, "images", str(tree), workers=2, processes=2, client_factory=DeadClient
    ).run()
    assert result["aborted"] is True
    assert result["stats"]["uploaded"] == 0
    assert result["stats"]["errors"] >= 10
    assert "Could not connect" in result["abort_reason"]


def test_threads_abort_when_the_server_is_gone(tree):  # noqa: F811
    result = MediaSync(DeadClient(), BUCKET, "images", str(tree), workers=1).run()
    assert result["aborted"] is True
    assert result["stats"]["errors"] >= 10
    assert "Could not connect" in result["abort_reason"]


def test_workers_fork_with_the_parent_objects_frozen():
    """A worker's collections leave the parent's objects alone (walking them would copy their
    pages into every worker); the parent collects them again once the workers are forked."""
    context = multiprocessing.get_context("fork")
    frozen_in_workers = context.Queue()

    class Sync:
        processes = workers = 2

        def transfer_factory(self, _threads):
            frozen_in_workers.put(gc.get_freeze_count())
            raise RuntimeError("no client needed")  # the worker tells the parent and ends

    before = gc.get_freeze_count()
    pool = mpl.ProcessPool(Sync(), context)
    with pool:
        counts = [frozen_in_workers.get(timeout=30) for _worker in range(2)]
        assert gc.get_freeze_count() == before
    assert min(counts) > 1000  # boto3, pytest and this module's objects, at least


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's arena cap is glibc's")
def test_malloc_arenas_capped_on_glibc():
    # in a child: the cap is for the whole process
    code = f"from {mpl.__name__} import limit_malloc_arenas; print(limit_malloc_arenas())"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert answer.stdout.strip() == "True"


def test_no_mallopt_no_cap(monkeypatch):
    def no_libc(_name):
        raise OSError("no C library here")

    monkeypatch.setattr(mpl.ctypes, "CDLL", no_libc)
    assert mpl.limit_malloc_arenas() is False
