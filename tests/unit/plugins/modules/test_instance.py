"""The instance module: restart only when something runs with other settings, check mode changes
nothing, restore always restarts, static reports its output and what is stale after it,
adopt_media is dockerless only."""

import functools
import http.server
import json
import os
import threading

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError
from ansible_collections.bookwyrm.s3.plugins.modules import instance
from module_args import patch_module_args  # ansible-core 2.19's, or the same before 2.19


class FakeInstance:
    def __init__(self, stale):
        self.stale = stale
        self.calls = []

    def stale_processes(self):
        if isinstance(self.stale, Exception):
            raise self.stale
        return list(self.stale)

    def rolling_restart(self, timeout):
        self.calls.append(("restart", timeout))
        return dict(recreated=["web", "celery_worker"], retired=["3f2a9c1b7d0e"], healthy_after_seconds=1.5)

    def restore(self, timeout):
        self.calls.append(("restore", timeout))
        return dict(healthy_after_seconds=0.5)

    def clear_caches(self):
        self.calls.append(("caches",))
        return dict(fragments_cleared=2, pages_cleared={"/var/cache/nginx/bookwyrm_cache": 3})

    def collect_static(self):
        self.calls.append(("static",))
        return dict(output=["12 static files copied."])

    def adopt_media(self, root, uid, gid, dry_run=False):
        self.calls.append(("adopt", root, dry_run))
        return [os.path.join(root, "new.png")]


def run(capsys, monkeypatch, tmp_path, fake, check_mode=False, **args):
    (tmp_path / ".env").write_text("USE_S3=true\n")
    (tmp_path / "images").mkdir(exist_ok=True)
    monkeypatch.setattr(instance, "build_instance", lambda module: fake)
    args = dict(dict(install="dockerless", instance_dir=str(tmp_path), user="root"), **args)
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)), pytest.raises(SystemExit):
        instance.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("install", ["docker", "dockerless"])
def test_nothing_stale_nothing_done(capsys, monkeypatch, tmp_path, install):
    fake = FakeInstance([])
    result = run(capsys, monkeypatch, tmp_path, fake, install=install)
    assert result["changed"] is False and fake.calls == [] and result["stale"] == []


def test_stale_web_restarts_then_drops_the_caches(capsys, monkeypatch, tmp_path):
    fake = FakeInstance(["web"])
    result = run(capsys, monkeypatch, tmp_path, fake, install="docker", health_timeout=42)
    assert result["changed"] is True
    assert fake.calls == [("restart", 42), ("caches",)]
    assert result["recreated"] == ["web", "celery_worker"] and result["fragments_cleared"] == 2
    assert result["pages_cleared"] == {"/var/cache/nginx/bookwyrm_cache": 3}
    assert result["diff"] == {"before": {"stale": ["web"]}, "after": {"stale": []}}


def test_check_mode_reports_without_restarting(capsys, monkeypatch, tmp_path):
    fake = FakeInstance(["bookwyrm-worker.service"])
    result = run(capsys, monkeypatch, tmp_path, fake, check_mode=True)
    assert result["changed"] is True and fake.calls == []


def test_restore_restarts_even_when_nothing_is_stale(capsys, monkeypatch, tmp_path):
    fake = FakeInstance([])
    result = run(capsys, monkeypatch, tmp_path, fake, action="restore", health_timeout=7)
    assert result["changed"] is True and fake.calls == [("restore", 7), ("caches",)]


def test_static_runs_once_and_not_in_check_mode(capsys, monkeypatch, tmp_path):
    fake = FakeInstance([])
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", install="docker")
    assert result["changed"] is True and result["output"] == ["12 static files copied."]
    fake = FakeInstance([])
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", check_mode=True)
    assert result["changed"] is True and fake.calls == []


@pytest.fixture
def bucket_site(tmp_path):
    """A loopback HTTP server standing for the bucket: what is under site/ answers 200, else 404."""
    root = tmp_path / "site"
    (root / "static" / "css" / "themes").mkdir(parents=True)
    (root / "static" / "css" / "themes" / "bookwyrm-light.css").write_text("body {}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/static/"
    server.shutdown()


@pytest.mark.parametrize("check_mode", [False, True])
def test_static_skipped_when_the_theme_is_served(capsys, monkeypatch, tmp_path, bucket_site, check_mode):
    fake = FakeInstance([])
    url = bucket_site + "css/themes/bookwyrm-light.css"
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", unless_served=url, check_mode=check_mode)
    assert result["changed"] is False and result["served"] == url and fake.calls == []


def test_static_runs_when_the_theme_is_not_served(capsys, monkeypatch, tmp_path, bucket_site):
    fake = FakeInstance([])
    missing = bucket_site + "css/themes/not-compiled.css"
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", unless_served=missing)
    assert result["changed"] is True and fake.calls == [("static",)] and "served" not in result
    fake = FakeInstance([])
    nothing_answers = "http://127.0.0.1:9/static/css/themes/bookwyrm-light.css"
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", unless_served=nothing_answers)
    assert result["changed"] is True and fake.calls == [("static",)]


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("served", [True, False])
def test_static_tells_what_is_stale_after_it(capsys, monkeypatch, tmp_path, bucket_site, check_mode, served):
    """The role leaves out its restart call when static found nothing stale: so static reads it
    whether it collected, would collect or found the theme served."""
    url = bucket_site + ("css/themes/bookwyrm-light.css" if served else "css/themes/not-compiled.css")
    for stale in ([], ["web"]):
        result = run(
            capsys,
            monkeypatch,
            tmp_path,
            FakeInstance(stale),
            action="static",
            unless_served=url,
            check_mode=check_mode,
        )
        assert result["stale"] == stale and result["changed"] is not served


def test_static_without_stale_when_it_cannot_be_read(capsys, monkeypatch, tmp_path):
    """No answer is not 'nothing stale': the key is left out, and the role's restart call runs."""
    fake = FakeInstance(InstanceError("docker compose ps failed"))
    result = run(capsys, monkeypatch, tmp_path, fake, action="static", install="docker")
    assert result["changed"] is True and "stale" not in result and fake.calls == [("static",)]


def test_info_changes_nothing(capsys, monkeypatch, tmp_path):
    fake = FakeInstance(["web"])
    result = run(capsys, monkeypatch, tmp_path, fake, action="info", install="docker")
    assert result["changed"] is False and result["stale"] == ["web"] and fake.calls == []


def test_adopt_media_check_mode_is_a_dry_run(capsys, monkeypatch, tmp_path):
    fake = FakeInstance([])
    result = run(capsys, monkeypatch, tmp_path, fake, check_mode=True, action="adopt_media")
    assert result["changed"] is True and result["adopted"] == 1
    assert fake.calls == [("adopt", str(tmp_path / "images"), True)]


def test_adopt_media_refused_on_docker(capsys, monkeypatch, tmp_path):
    result = run(capsys, monkeypatch, tmp_path, FakeInstance([]), action="adopt_media", install="docker")
    assert result["failed"] is True and "dockerless" in result["msg"]


def test_failure_is_reported_once_with_what_to_check(capsys, monkeypatch, tmp_path):
    fake = FakeInstance(["web"])

    def boom(timeout):
        raise InstanceError("the new web container did not become healthy (exited after 3s)", log_lines=["boom"])

    fake.rolling_restart = boom
    result = run(capsys, monkeypatch, tmp_path, fake, install="docker")
    assert result["failed"] is True and "did not become healthy" in result["msg"]
    assert result["log_lines"] == ["boom"]


def test_missing_env_fails_with_the_directory(capsys, tmp_path):
    with patch_module_args(dict(install="docker", instance_dir=str(tmp_path / "nowhere"))), pytest.raises(SystemExit):
        instance.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and "nowhere/.env not found" in result["msg"]


def test_install_is_required_and_checked(capsys, tmp_path):
    with patch_module_args(dict(install="podman", instance_dir=str(tmp_path))), pytest.raises(SystemExit):
        instance.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and "install" in result["msg"] and "docker, dockerless" in result["msg"]
