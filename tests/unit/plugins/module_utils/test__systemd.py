"""SystemdInstance (a dockerless install) driven by a fake runner and a fake /proc."""

import os

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _systemd
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError
from ansible_collections.bookwyrm.s3.plugins.module_utils._systemd import SystemdError, SystemdInstance

HZ = os.sysconf("SC_CLK_TCK")


class FakeHost:
    """systemctl and runuser as a fake; /proc in a temporary directory."""

    def __init__(self, tmp_path):
        self.calls = []
        self.proc = tmp_path / "proc"
        self.dir = tmp_path / "opt"
        self.dir.mkdir()
        (self.dir / ".env").write_text('USE_S3="true"\nAWS_STORAGE_BUCKET_NAME=books\nSECRET_KEY=x\n')
        self.main = 100
        self.now = 1_000_000.0
        self.uptime = 5000.0
        self.set_workers({201: 10.0, 202: 10.0})  # started 10 s after boot
        self.active = "active"

    def env_age(self, seconds):
        """Make .env written ``seconds`` before the fake now (its ctime cannot be set: move now)."""
        self.now = os.stat(self.dir / ".env").st_ctime + seconds

    def set_workers(self, workers):
        self.workers = workers
        task = self.proc / str(self.main) / "task" / str(self.main)
        task.mkdir(parents=True, exist_ok=True)
        (task / "children").write_text(" ".join(str(p) for p in workers))
        for pid, start in workers.items():
            (self.proc / str(pid)).mkdir(parents=True, exist_ok=True)
            fields = ["S"] + ["0"] * 18 + [str(int(start * HZ))] + ["0"] * 10
            (self.proc / str(pid) / "stat").write_text(f"{pid} (gunicorn: worker) " + " ".join(fields))
        (self.proc / "uptime").write_text(f"{self.uptime} 0\n")

    def run_command(self, argv, cwd=None, data=None):
        self.calls.append((argv, cwd, data))
        if argv[:2] == ["systemctl", "show"] and "MainPID" in argv:
            return 0, f"{self.main}\n", ""
        if argv[:2] == ["systemctl", "show"]:
            return 0, "loaded\n", ""
        if argv[:2] == ["systemctl", "is-active"]:
            return 0, self.active + "\n", ""
        if argv[:2] == ["systemctl", "kill"]:
            self.uptime += 2
            self.set_workers({301: self.uptime - 1})
            return 0, "", ""
        return 0, "ok\n", ""

    def instance(self):
        return SystemdInstance(
            self.run_command, instance_dir=str(self.dir), proc_root=str(self.proc),
            sleep=lambda s: None, now=lambda: self.now, http_get=lambda url: 200,
        )  # fmt: skip


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)


def test_workers_started_after_env_report_its_storage_keys(host):
    host.env_age(10_000)  # .env older than the workers
    assert host.instance().running_storage_env() == [{"USE_S3": "true", "AWS_STORAGE_BUCKET_NAME": "books"}] * 2


def test_env_copied_back_with_an_old_mtime_still_counts_as_new(host):
    """A rollback copies .env.before-s3 back keeping its old mtime: the workers are stale anyway."""
    host.env_age(60)
    os.utime(host.dir / ".env", (host.now - 10_000, host.now - 10_000))
    assert host.instance().running_storage_env() == [{"stale": True}] * 2


def test_workers_older_than_env_are_stale(host):
    host.env_age(60)  # written long after they started
    assert host.instance().running_storage_env() == [{"stale": True}] * 2


def test_rolling_restart_hups_gunicorn_waits_for_new_workers_then_restarts_the_others(host):
    result = host.instance().rolling_restart(30)
    argvs = [c[0] for c in host.calls]
    assert ["systemctl", "kill", "--signal", "HUP", "--kill-who", "main", "bookwyrm.service"] in argvs
    assert argvs[-1] == ["systemctl", "restart", "bookwyrm-worker.service", "bookwyrm-scheduler.service"]
    assert result["retired"] == ["201", "202"]
    assert result["recreated"] == ["bookwyrm-worker.service", "bookwyrm-scheduler.service"]


def test_rolling_restart_times_out_when_old_workers_stay(host):
    instance = host.instance()
    host.run_command = lambda argv, cwd=None, data=None: (0, "100\n" if "MainPID" in argv else "active\n", "")
    instance.run_command = host.run_command
    ticks = iter(range(0, 1000, 10))
    instance.clock = lambda: next(ticks)
    with pytest.raises(SystemdError, match="did not answer"):
        instance.rolling_restart(30)


def test_collect_static_one_shell_as_the_user_from_the_checkout(host):
    host.instance().collect_static()
    argv, cwd, _env = host.calls[-1]
    assert argv[:5] == ["runuser", "-u", "bookwyrm", "--", "sh"]
    assert "compile_themes && venv/bin/python manage.py collectstatic --no-input" in argv[-1]
    assert cwd == str(host.dir)


def test_psql_sql_on_stdin_no_secret_in_argv(host):
    host.instance().psql("SELECT 1;", {"url": "https://bucket.example/images/"})
    argv, _cwd, data = host.calls[-1]
    assert argv[:7] == ["runuser", "-u", "bookwyrm", "--", "venv/bin/python", "manage.py", "dbshell"]
    assert "url=https://bucket.example/images/" in argv and data == "SELECT 1;"
    assert not any("PASSWORD" in a or "x" == a for a in argv)


def test_manage_shell_failure_raises(host):
    host.run_command = lambda argv, cwd=None, data=None: (1, "", "boom")
    instance = host.instance()
    instance.run_command = host.run_command
    with pytest.raises(SystemdError, match="boom"):
        instance.manage_shell("print(1)")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_adopt_media_gives_new_files_to_the_instance_user(tmp_path):
    media = tmp_path / "images"
    (media / "covers").mkdir(parents=True)
    (media / "covers" / "new.png").write_bytes(b"x")
    os.chmod(media / "covers" / "new.png", 0o600)
    changed = SystemdInstance(lambda *a, **k: (0, "", "")).adopt_media(str(media), 4242, 4242)
    st = os.stat(media / "covers" / "new.png")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4242, 4242, _systemd.FILE_MODE)
    assert os.stat(media / "covers").st_mode & 0o777 == _systemd.DIR_MODE
    assert len(changed) == 2


def test_stale_processes_nothing_when_everything_started_after_env(host):
    host.env_age(10_000)
    host.main = 100  # the other units' MainPID: gunicorn's master stands for them (started at boot)
    (host.proc / "100").mkdir(exist_ok=True)
    fields = ["S"] + ["0"] * 18 + [str(int(10.0 * HZ))] + ["0"] * 10
    (host.proc / "100" / "stat").write_text("100 (gunicorn) " + " ".join(fields))
    assert host.instance().stale_processes() == []


def test_stale_processes_names_web_and_units_older_than_env(host):
    host.env_age(60)
    (host.proc / "100").mkdir(exist_ok=True)
    fields = ["S"] + ["0"] * 18 + [str(int(10.0 * HZ))] + ["0"] * 10
    (host.proc / "100" / "stat").write_text("100 (celery) " + " ".join(fields))
    assert host.instance().stale_processes() == [
        "bookwyrm.service", "bookwyrm-worker.service", "bookwyrm-scheduler.service",
    ]  # fmt: skip


def test_stale_processes_web_not_running_is_stale(host):
    host.env_age(10_000)
    host.active = "inactive"
    assert "bookwyrm.service" in host.instance().stale_processes()


def test_clear_caches_runs_the_code_as_the_user_and_empties_the_hosts_nginx_cache(host):
    instance = host.instance()

    def run_command(argv, cwd=None, data=None):
        host.calls.append((argv, cwd, data))
        if argv[:2] == ["sh", "-c"]:
            return 0, "/var/cache/nginx/bookwyrm_cache 4\n", ""
        return 0, "fragments-cleared=3\n", ""

    instance.run_command = run_command
    assert instance.clear_caches() == dict(fragments_cleared=3, pages_cleared={"/var/cache/nginx/bookwyrm_cache": 4})
    argv = host.calls[-2][0]
    assert argv[:7] == ["runuser", "-u", "bookwyrm", "--", "venv/bin/python", "manage.py", "shell"]
    assert "template.cache.*" in argv[-1] and "clear()" not in argv[-1]  # fragments only, never a FLUSHDB
    assert "proxy_cache_path" in host.calls[-1][0][2]


def test_clear_caches_without_the_count_fails(host):
    with pytest.raises(InstanceError, match="did not report"):
        host.instance().clear_caches()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_adopt_media_dry_run_changes_nothing(tmp_path):
    media = tmp_path / "images"
    media.mkdir()
    (media / "new.png").write_bytes(b"x")
    os.chmod(media / "new.png", 0o600)
    found = SystemdInstance(lambda *a, **k: (0, "", "")).adopt_media(str(media), 4242, 4242, dry_run=True)
    assert found == [str(media / "new.png")]
    st = os.stat(media / "new.png")
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)


class RollingHost(FakeHost):
    """gunicorn with heartbeat files: TTIN adds a worker that boots after two looks, TTOU
    retires the oldest; the heartbeat is read as the instance's user."""

    def __init__(self, tmp_path):
        self.signals = []
        self.pending = {}  # pid: looks left before it has booted
        self.boot_after = 2
        super().__init__(tmp_path)
        self.heartbeats = {pid: True for pid in self.workers}

    def heartbeat(self, pid):
        """What HEARTBEAT_SCRIPT prints: the mtime a booted worker set, else its ctime."""
        if pid not in self.heartbeats:
            return ""
        if self.pending.get(pid):
            self.pending[pid] -= 1
            self.heartbeats[pid] = not self.pending[pid]
        return "8123 1796000000 600\n" if self.heartbeats[pid] else "1796000000 1796000000 600\n"

    def run_command(self, argv, cwd=None, data=None):
        if _systemd.HEARTBEAT_SCRIPT in argv:
            assert argv[:4] == ["runuser", "-u", "bookwyrm", "--"]
            return 0, self.heartbeat(int(argv[-1])), ""
        if argv[:2] == ["systemctl", "kill"] and argv[3] in ("TTIN", "TTOU"):
            self.calls.append((argv, cwd, data))
            name = argv[3]
            self.signals.append(name)
            if name == "TTIN":
                pid = max(self.workers) + 100
                self.set_workers({**self.workers, pid: self.uptime})
                self.heartbeats[pid] = False
                self.pending[pid] = self.boot_after
            else:
                self.set_workers(dict(sorted(self.workers.items())[1:]))
            return 0, "", ""
        return super().run_command(argv, cwd, data)


def test_rolling_restart_boots_new_workers_before_the_old_go(tmp_path):
    host = RollingHost(tmp_path)
    result = host.instance().rolling_restart(30)
    assert host.signals == ["TTIN", "TTIN", "TTOU", "TTOU"]
    assert sorted(host.workers) == [302, 402] and not host.pending.get(302) and not host.pending.get(402)
    assert result["reload"] == "TTIN/TTOU" and result["retired"] == ["201", "202"]


def test_heartbeat_untouched_is_not_booted(tmp_path):
    host = RollingHost(tmp_path)
    host.heartbeats[999] = False
    instance = SystemdInstance(host.run_command, instance_dir=str(host.dir), proc_root=str(host.proc))
    assert instance.booted(999) is False and instance.booted(201) is True and instance.booted(4242) is None


def test_new_workers_that_never_boot_fail_with_what_to_check(tmp_path):
    host = RollingHost(tmp_path)
    host.boot_after = 10**6
    instance = SystemdInstance(
        host.run_command, instance_dir=str(host.dir), proc_root=str(host.proc), sleep=lambda s: None,
        clock=iter(range(0, 10000, 5)).__next__, http_get=lambda url: 200,
    )  # fmt: skip
    with pytest.raises(SystemdError, match=r"new workers \[302, 402\] did not boot within 30s"):
        instance.rolling_restart(30)
    assert "TTOU" not in host.signals  # the old workers keep serving


def test_restore_reloads_with_hup(tmp_path):
    host = RollingHost(tmp_path)
    result = host.instance().restore(30)
    assert host.signals == [] and result["reload"] == "HUP"
    hup = ["systemctl", "kill", "--signal", "HUP", "--kill-who", "main", "bookwyrm.service"]
    assert hup in [c[0] for c in host.calls]


def test_apply_proxy_config_checks_then_reloads(host):
    result = host.instance().apply_proxy_config()
    argvs = [c[0] for c in host.calls]
    assert argvs[-2:] == [["nginx", "-t", "-q"], ["systemctl", "reload", "nginx.service"]]
    assert result == {"proxy": "reloaded"}
