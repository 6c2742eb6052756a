"""The compose kind of install, driven through a fake docker that keeps a project's state:
the rolling restart's order (new web healthy, nginx pinned to it and drained, old retired,
pin removed, the services running web's code recreated), its failures, restore, the caches."""

import json

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _compose
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError

S3_ENV = "USE_S3=true\nAWS_STORAGE_BUCKET_NAME=books\nSECRET_KEY=s3cr3t\n"
SERVICES = {
    "web": {"build": {"context": "/opt/bookwyrm", "dockerfile": "Dockerfile"}},
    "celery_worker": {"build": {"context": "/opt/bookwyrm", "dockerfile": "Dockerfile"}},
    "celery_beat": {"build": {"context": "/opt/bookwyrm", "dockerfile": "Dockerfile"}},
    "db": {"image": "postgres:13"},
    "redis_activity": {"image": "redis:7"},
    "nginx": {"image": "nginx:1.25"},
}


class FakeDocker:
    """Stands for AnsibleModule.run_command on a host running one BookWyrm compose project."""

    def __init__(self, tmp_path, env="USE_S3=false\n", v2=True, starts=("starting", "healthy"), config=True):
        self.dir = tmp_path
        (tmp_path / ".env").write_text(env)
        self.v2 = v2
        self.starts = list(starts)  # the states a new web container goes through
        self.config = config
        self.containers = {}
        self.log = []  # what happened, in order
        self.hosts = ["127.0.0.1 localhost"]
        self.workers = ["11", "12"]
        self.draining = []
        self.cache_pages = 3
        self.fail_on = None
        self.seq = 0
        self.add("web", self.storage_env())
        self.add("nginx", [])
        self.add("celery_worker", self.storage_env())

    def storage_env(self):
        lines = (self.dir / ".env").read_text().split("\n")
        return [line for line in lines if line] + ["PATH=/usr/bin"]

    def add(self, service, env, states=("healthy",)):
        self.seq += 1
        cid = f"{service[:3]}{self.seq:02d}{'0' * 20}"
        self.containers[cid] = dict(service=service, env=env, states=list(states), ip=f"172.18.0.{self.seq}")
        return cid

    def ids(self, service):
        return [cid for cid, c in self.containers.items() if c["service"] == service]

    def state(self, cid):
        states = self.containers[cid]["states"]
        return states.pop(0) if len(states) > 1 else states[0]

    def __call__(self, argv, cwd=None, data=None):
        argv = list(argv)
        if self.fail_on and self.fail_on(argv):
            raise RuntimeError("connection lost")
        if argv[-1] == "version":
            return (0 if (argv[:2] == ["docker", "compose"]) == self.v2 else 1), "", ""
        if argv[0] == "docker-compose" or argv[:2] == ["docker", "compose"]:
            return self.compose(argv[argv.index("--project-name") + 2 :], data)
        return self.docker(argv[1:], data)

    def compose(self, args, data):
        if args[:2] == ["ps", "-q"]:
            return 0, "\n".join(self.ids(args[2])) + "\n", ""
        if args[:2] == ["config", "--format"]:
            return (0, json.dumps({"services": SERVICES}), "") if self.config else (1, "", "unknown flag")
        if args[:2] == ["up", "-d"]:
            rest = args[2:]
            if "--scale" in rest:
                self.log.append("scale up")
                self.add("web", self.storage_env(), self.starts)
            else:
                services = [a for a in rest if not a.startswith("--")] or ["(all)"]
                self.log.append("up " + " ".join(services))
                for c in self.containers.values():
                    if c["service"] in services or (services == ["(all)"] and c["service"] != "nginx"):
                        c["env"] = self.storage_env()
            return 0, "", ""
        if args[:3] == ["run", "--rm", "--no-deps"]:
            self.log.append("static")
            return 0, "Compiled theme.\n12 static files copied.\n", ""
        if args[:2] == ["exec", "-T"]:
            self.log.append(f"psql {data.strip()}")
            return 0, "[]", ""
        raise AssertionError(f"unexpected compose call {args}")

    def docker(self, args, data):
        if args[0] == "inspect":
            c = self.containers.get(args[1])
            if not c:
                return 1, "", "No such object"
            health = self.state(args[1])
            doc = dict(
                Config=dict(Env=c["env"]),
                State=dict(Status="exited" if health == "exited" else "running", Health=dict(Status=health)),
                NetworkSettings=dict(Networks={"bookwyrm_default": dict(IPAddress=c["ip"])}),
            )
            return 0, json.dumps([doc]), ""
        if args[0] == "exec" and args[1] == self.ids("web")[0] and args[2:6] == ["python", "manage.py", "shell", "-c"]:
            # the code in -c, never on stdin: Django's shell drops to an interactive one
            # when stdin is not readable the instant it starts
            assert data is None and "fragments-cleared" in args[6]
            self.log.append("fragments")
            return 0, "fragments-cleared=2\n", ""
        if args[0] == "exec" and args[2:4] == ["nginx", "-s"]:
            self.log.append("reload")
            self.draining, self.workers = self.workers, [str(int(w) + 10) for w in self.workers]
            return 0, "", ""
        if args[0] == "exec" and args[2:4] == ["sh", "-c"]:
            return self.proxy_script(args[4], args[6:])
        if args[0] == "stop":
            self.log.append("stop " + args[-1][:5])
            return 0, "", ""
        if args[0] == "rm":
            self.log.append("rm " + args[-1][:5])
            self.containers.pop(args[-1], None)
            return 0, "", ""
        if args[0] == "logs":
            return 0, "Traceback: ImproperlyConfigured\n", ""
        raise AssertionError(f"unexpected docker call {args}")

    def proxy_script(self, script, args):
        if script == _compose.NGINX_WORKERS:
            return 0, "\n".join(self.workers), ""
        if script == _compose.STILL_RUNNING:
            still, self.draining = [p for p in args if p in self.draining], []  # drained after one look
            return 0, "\n".join(still), ""
        if script == _compose.PIN_HOSTS:
            address, mark, name = args
            self.hosts = [line for line in self.hosts if not line.endswith(mark)]
            if address:
                self.hosts.append(f"{address} {name} {mark}")
                self.log.append("pin " + address)
            else:
                self.log.append("unpin")
            return 0, "", ""
        if "proxy_cache_path" in script:
            pages, self.cache_pages = self.cache_pages, 0
            return 0, f"/var/cache/nginx/bookwyrm_cache {pages}\n", ""
        raise AssertionError(f"unexpected script {script}")


def make(fake, **kwargs):
    clock = iter(range(0, 100000)).__next__
    kwargs.setdefault("project_name", "bookwyrm")
    return _compose.ComposeInstance(fake, str(fake.dir), sleep=lambda s: None, clock=clock, **kwargs)


def test_base_args_name_the_project_and_its_files(tmp_path):
    fake = FakeDocker(tmp_path)
    compose = _compose.Compose(fake, "/opt/bookwyrm", "bookwyrm", ["docker-compose.yml", "override.yml"])
    assert compose.base() == [
        "docker", "compose", "--project-name", "bookwyrm",
        "--file", "/opt/bookwyrm/docker-compose.yml", "--file", "/opt/bookwyrm/override.yml",
    ]  # fmt: skip
    assert compose.version == "v2"


def test_compose_v1_when_the_plugin_is_missing(tmp_path):
    compose = _compose.Compose(FakeDocker(tmp_path, v2=False), "/opt/bookwyrm")
    assert compose.argv == ["docker-compose"] and compose.version == "v1"


def test_no_compose_at_all_says_what_to_install(tmp_path):
    with pytest.raises(_compose.ComposeError, match="Install the compose v2 plugin"):
        _compose.Compose(lambda argv, **kw: (127, "", "not found"), "/opt/bookwyrm")


def test_stale_only_when_web_runs_with_other_storage_settings(tmp_path):
    fake = FakeDocker(tmp_path, env=S3_ENV)
    instance = make(fake)
    assert instance.stale_processes() == []  # the secret key differs in no storage key
    (tmp_path / ".env").write_text(S3_ENV.replace("books", "books2"))
    assert instance.stale_processes() == ["web"]
    (tmp_path / ".env").write_text(S3_ENV)
    fake.add("web", fake.storage_env())  # two web containers: a restart left half done
    assert instance.stale_processes() == ["web"]


def test_rolling_restart_order(tmp_path):
    fake = FakeDocker(tmp_path)
    old_web = fake.ids("web")[0]
    (tmp_path / ".env").write_text(S3_ENV)
    result = make(fake).rolling_restart(health_timeout=60)
    new_web = fake.ids("web")
    assert len(new_web) == 1 and new_web[0] != old_web
    new_ip = fake.containers[new_web[0]]["ip"]
    assert (
        fake.log
        == [
            "scale up",
            "pin " + new_ip,  # nginx sends new requests to the new container only ...
            "reload",
            "stop " + old_web[:5],  # ... before the old one stops
            "rm " + old_web[:5],
            "unpin",
            "reload",
            "up celery_beat celery_worker",  # web's code, not db, redis or nginx
        ]
    )
    assert fake.hosts == ["127.0.0.1 localhost"]
    assert result["recreated"] == ["web", "celery_beat", "celery_worker"]
    assert result["retired"] == [old_web[:12]] and result["proxy_pinned"] is True
    assert result["healthy_after_seconds"] >= 1 and result["warnings"] == []
    assert fake.containers[fake.ids("celery_worker")[0]]["env"][0] == "USE_S3=true"


def test_unhealthy_is_not_final(tmp_path):
    fake = FakeDocker(tmp_path, starts=("starting", "unhealthy", "unhealthy", "healthy"))
    result = make(fake).rolling_restart(health_timeout=60)
    assert result["retired"] and "stop" in " ".join(fake.log)


def test_a_new_web_that_exits_is_removed_and_the_old_keeps_serving(tmp_path):
    fake = FakeDocker(tmp_path, starts=("starting", "exited"))
    old_web = fake.ids("web")[0]
    with pytest.raises(InstanceError, match="the new web container did not become healthy") as caught:
        make(fake).rolling_restart(health_timeout=60)
    assert caught.value.details["log_lines"] == ["Traceback: ImproperlyConfigured"]
    assert fake.ids("web") == [old_web]
    assert "pin" not in " ".join(fake.log) and "stop" not in " ".join(fake.log)


def test_timeout_is_final(tmp_path):
    fake = FakeDocker(tmp_path, starts=("starting",))
    with pytest.raises(InstanceError, match=r"\(starting after 3\d?s\)"):
        make(fake).rolling_restart(health_timeout=30)
    assert len(fake.ids("web")) == 1


def test_the_pin_is_removed_when_the_swap_breaks_off(tmp_path):
    fake = FakeDocker(tmp_path)
    fake.fail_on = lambda argv: argv[:2] == ["docker", "stop"]
    with pytest.raises(RuntimeError):
        make(fake).rolling_restart(health_timeout=60)
    assert fake.hosts == ["127.0.0.1 localhost"] and fake.log[-2:] == ["unpin", "reload"]


def test_compose_v1_recreates_the_project(tmp_path):
    fake = FakeDocker(tmp_path, config=False)
    make(fake).rolling_restart(health_timeout=60)
    assert fake.log[-1] == "up (all)"


def test_nothing_running_starts_the_project(tmp_path):
    fake = FakeDocker(tmp_path)
    for cid in fake.ids("web"):
        fake.containers.pop(cid)
    fake.compose_up = fake.compose

    def compose(args, data):  # `up -d` starts web
        if args == ["up", "-d"]:
            fake.add("web", fake.storage_env())
        return fake.compose_up(args, data)

    fake.compose = compose
    result = make(fake).rolling_restart(health_timeout=60)
    assert fake.log[0] == "up (all)" and result["retired"] == [] and len(fake.ids("web")) == 1


def test_restore_is_up_then_the_proxy(tmp_path):
    fake = FakeDocker(tmp_path)
    result = make(fake).restore(health_timeout=60)
    assert fake.log == ["up (all)", "reload"] and "healthy_after_seconds" in result


def test_clear_caches_fragments_and_pages(tmp_path):
    fake = FakeDocker(tmp_path)
    assert make(fake).clear_caches() == dict(fragments_cleared=2, pages_cleared={"/var/cache/nginx/bookwyrm_cache": 3})


def test_no_proxy_no_pages(tmp_path):
    fake = FakeDocker(tmp_path)
    assert make(fake, proxy_service="").clear_caches()["pages_cleared"] == {}


def test_collect_static_in_one_container(tmp_path):
    fake = FakeDocker(tmp_path)
    assert make(fake).collect_static()["output"][-1] == "12 static files copied."


def test_psql_variables_go_to_psql(tmp_path):
    fake = FakeDocker(tmp_path)
    make(fake).psql("SELECT 1;\n", {"covers_url": "https://x/images/"})
    assert fake.log == ["psql SELECT 1;"]


def test_apply_proxy_config_checks_then_recreates(tmp_path):
    fake = FakeDocker(tmp_path)
    calls = []
    fake.compose_real = fake.compose

    def compose(args, data):
        calls.append(args)
        if args[:3] == ["run", "--rm", "--no-deps"]:
            return (
                (0, "", "nginx: configuration file /etc/nginx/nginx.conf test is successful")
                if "nginx" in args
                else (1, "", "")
            )
        return fake.compose_real(args, data)

    fake.compose = compose
    assert make(fake).apply_proxy_config() == {"proxy": "recreated"}
    assert calls[-2][-2:] == ["nginx", "-t"] and calls[-1] == ["up", "-d", "--no-deps", "--force-recreate", "nginx"]


def test_a_configuration_nginx_refuses_is_not_applied(tmp_path):
    fake = FakeDocker(tmp_path)
    fake.compose_real = fake.compose
    fake.compose = lambda args, data: (
        (1, "", 'nginx: [emerg] unknown directive "retrun"') if args[0] == "run" else fake.compose_real(args, data)
    )
    with pytest.raises(InstanceError, match=r"nginx refuses its configuration: .*retrun"):
        make(fake).apply_proxy_config()
    assert not [entry for entry in fake.log if entry.startswith("up")]
