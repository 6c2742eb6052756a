# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The docker compose kind of install (``ComposeInstance``), and the one place that builds
compose and docker command lines (``Compose``, ``Docker``).

BookWyrm admins run either the compose v2 plugin (``docker compose``) or the legacy
``docker-compose`` v1; upstream's own helper falls back from one to the other, so do we.
Commands go through ``run_command`` (AnsibleModule's), so tests drive everything with a fake.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import (
    STORAGE_KEYS,
    Instance,
    InstanceError,
    storage_values,
)

# compile_themes writes the theme CSS into the app tree of the container it runs in, so it
# and collectstatic share ONE throwaway container (upstream's two-step way loses the CSS).
STATIC_SCRIPT = "python manage.py compile_themes && python manage.py collectstatic --no-input"
# Inside the db container the credentials come from the container's own environment
# (compose's env_file: .env), so none of them passes through this host's command lines.
PSQL = [
    "sh", "-c",
    'exec psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "${POSTGRES_DB:-$POSTGRES_USER}" "$@"',
    "psql",
]  # fmt: skip
# The PIDs of nginx's worker processes, from /proc (slim images have no ps).
NGINX_WORKERS = r"""for f in /proc/[0-9]*/cmdline; do
  case "$(tr "\000" " " <"$f" 2>/dev/null)" in *"nginx: worker process"*) f=${f#/proc/}; echo "${f%/cmdline}";; esac
done"""
# Which of the PIDs given still run.
STILL_RUNNING = 'for p; do [ -e "/proc/$p" ] && echo "$p"; done; true'
# /etc/hosts is a bind mount: rewritten in place, never replaced. $1 address, $2 mark, $3 name.
PIN_HOSTS = (
    'grep -v "$2\\$" /etc/hosts >/tmp/hosts.s3; cat /tmp/hosts.s3 >/etc/hosts; rm -f /tmp/hosts.s3; '
    '[ -z "$1" ] || printf "%s %s %s\\n" "$1" "$3" "$2" >>/etc/hosts'
)
PIN_MARK = "# bookwyrm-s3 rolling restart"
GONE = ("exited", "dead", "gone")
# "running" is only ever reported for a container without a health check: all we can know.
READY = ("healthy", "running")


class ComposeError(InstanceError):
    pass


COMPOSE_COMMANDS = {"v2": ["docker", "compose"], "v1": ["docker-compose"]}


def detect_compose(run_command, preference="auto"):
    """The compose command as an argv prefix: ['docker', 'compose'] or ['docker-compose'], the
    one asked for or (auto) the first that answers ``version``."""
    candidates = [COMPOSE_COMMANDS[preference]] if preference in COMPOSE_COMMANDS else list(COMPOSE_COMMANDS.values())
    for argv in candidates:
        rc, _out, _err = run_command(argv + ["version"])
        if rc == 0:
            return argv
    raise ComposeError(
        "No docker compose found (tried %s). Install the compose v2 plugin or docker-compose."
        % ", ".join(" ".join(c) for c in candidates)
    )


def compose_version(argv):
    """v1 for the standalone docker-compose, v2 for the docker CLI plugin."""
    return "v1" if list(argv) == ["docker-compose"] else "v2"


class Compose(object):
    """One project: its directory, project name and compose files (model: community.docker's
    BaseComposeManager.get_base_args). Every compose command line is built here."""

    def __init__(self, run_command, project_src, project_name=None, files=None, preference="auto"):
        self.run_command = run_command
        self.project_src = project_src
        self.project_name = project_name
        self.files = files or []
        # v2 or v1 as given (the role passes what host_info found: a probe is a compose start,
        # 0.15 s, in every module run); auto probes
        self.argv = (
            list(COMPOSE_COMMANDS[preference]) if preference in COMPOSE_COMMANDS else detect_compose(run_command)
        )

    @property
    def version(self):
        return compose_version(self.argv)

    def base(self):
        argv = list(self.argv)
        if self.project_name:
            argv += ["--project-name", self.project_name]
        for name in self.files:
            argv += ["--file", os.path.join(self.project_src, name)]
        return argv

    def run(self, args, data=None):
        """`compose ARGS` in the project directory; (rc, out, err)."""
        return self.run_command(self.base() + list(args), cwd=self.project_src, data=data)

    def check(self, args, what):
        rc, out, err = self.run(args)
        if rc != 0:
            detail = (err or out).strip()[-800:]
            raise ComposeError("`%s %s` failed (rc=%s): %s" % (" ".join(self.argv), what, rc, detail))
        return out

    def exec_(self, service, command, data=None):
        """`compose exec -T SERVICE COMMAND`; (rc, out, err)."""
        return self.run(["exec", "-T", service] + list(command), data=data)

    def ids(self, service):
        """The ids of the service's running containers."""
        rc, out, _err = self.run(["ps", "-q", service])
        return out.split() if rc == 0 else []

    def services(self):
        """The resolved services (`config --format json`); None where compose cannot say (v1)."""
        rc, out, _err = self.run(["config", "--format", "json"])
        if rc != 0:
            return None
        try:
            return json.loads(out).get("services") or {}
        except ValueError:
            return None


class Docker(object):
    """The plain docker CLI, for what compose has no command for (by container id)."""

    def __init__(self, run_command):
        self.run_command = run_command

    def run(self, args, data=None):
        return self.run_command(["docker"] + list(args), data=data)

    def inspect(self, container):
        """The container's `docker inspect` document, None when it is gone."""
        rc, out, _err = self.run(["inspect", container])
        if rc != 0:
            return None
        try:
            return (json.loads(out) or [None])[0]
        except ValueError:
            return None

    def state(self, container):
        """`healthy`, `starting`, `unhealthy` (with a health check), else the state: `running`,
        `exited`, ...; `gone` when there is no such container."""
        info = self.inspect(container)
        if not info:
            return "gone"
        state = info.get("State") or {}
        return (state.get("Health") or {}).get("Status") or state.get("Status") or "gone"

    def sh(self, container, script, *args):
        """SCRIPT run by sh in the container, with ARGS as $1...; (rc, out, err)."""
        return self.run(["exec", container, "sh", "-c", script, "sh"] + list(args))


def container_storage(info):
    """The STORAGE_KEYS of a container's environment (its inspect document)."""
    values = {}
    for item in ((info or {}).get("Config") or {}).get("Env") or []:
        key, sep, value = item.partition("=")
        if sep and key in STORAGE_KEYS:
            values[key] = value
    return values


def same_code(service, web):
    """Does the service run web's code (same build or image): celery_worker, celery_beat, flower."""

    def code(spec):
        build = spec.get("build")
        if isinstance(build, dict):
            return ("build", build.get("context"), build.get("dockerfile"))
        if build:
            return ("build", build, None)
        return ("image", spec.get("image"))

    return code(service) == code(web)


class ComposeInstance(Instance):
    kind = "docker"

    def __init__(
        self,
        run_command,
        instance_dir,
        project_name=None,
        files=None,
        compose_command="auto",
        web_service="web",
        proxy_service="nginx",
        db_service="db",
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        super(ComposeInstance, self).__init__(run_command, instance_dir, sleep, clock)
        self.compose = Compose(run_command, instance_dir, project_name, files, compose_command)
        self.docker = Docker(run_command)
        self.web = web_service
        self.proxy_service = proxy_service
        self.db = db_service

    # -- what runs -------------------------------------------------------------------------

    def web_ids(self):
        return self.compose.ids(self.web)

    def proxy(self):
        ids = self.compose.ids(self.proxy_service) if self.proxy_service else []
        return ids[0] if ids else None

    def running_storage_env(self):
        return [container_storage(self.docker.inspect(cid)) for cid in self.web_ids()]

    def stale_processes(self):
        # compose reads .env only when it creates a container: what runs keeps what it was
        # created with, so the web containers' environment says which settings they serve.
        path = os.path.join(self.dir, ".env")
        try:
            with open(path) as handle:
                wanted = storage_values(handle.read())
        except (IOError, OSError) as exc:
            raise InstanceError("%s cannot be read: %s" % (path, exc)) from exc
        running = self.running_storage_env()
        return [] if len(running) == 1 and running[0] == wanted else [self.web]

    # -- the proxy (BookWyrm's nginx) --------------------------------------------------------

    def proxy_workers(self, proxy):
        _rc, out, _err = self.docker.sh(proxy, NGINX_WORKERS)
        return out.split()

    def reload_proxy(self):
        """Reload nginx (it resolves upstream names then) and wait until the workers of the
        previous configuration have finished their requests and exited (at most 60 s)."""
        proxy = self.proxy()
        if not proxy:
            return False
        before = self.proxy_workers(proxy)
        rc, out, err = self.docker.run(["exec", proxy, "nginx", "-s", "reload"])
        if rc != 0:
            self.warnings.append("nginx reload failed: %s" % (err or out).strip()[-200:])
            return False
        started = self.clock()
        while before:
            _rc, out, _err = self.docker.sh(proxy, STILL_RUNNING, *before)
            before = out.split()
            if before and self.clock() - started > 60:
                self.warnings.append("old nginx workers still running after 60s: %s" % " ".join(before))
                break
            if before:
                self.sleep(0.2)
        return True

    def address_for_proxy(self, container):
        """The container's address on a network the proxy shares with it."""
        proxy = self.proxy()
        if not proxy:
            return None
        shared = ((self.docker.inspect(proxy) or {}).get("NetworkSettings") or {}).get("Networks") or {}
        networks = ((self.docker.inspect(container) or {}).get("NetworkSettings") or {}).get("Networks") or {}
        for name, network in sorted(networks.items()):
            if name in shared and (network or {}).get("IPAddress"):
                return network["IPAddress"]
        return None

    def pin_proxy(self, address):
        """The web service's name resolves to ADDRESS alone inside the proxy (a line in its own
        /etc/hosts, which its resolver reads before DNS). Returns the proxy pinned, or None."""
        proxy = self.proxy()
        if not (proxy and address):
            return None
        rc, _out, _err = self.docker.sh(proxy, PIN_HOSTS, address, PIN_MARK, self.web)
        return proxy if rc == 0 else None

    def unpin_proxy(self, proxy):
        rc, out, err = self.docker.sh(proxy, PIN_HOSTS, "", PIN_MARK, self.web)
        if rc != 0:
            self.warnings.append("could not remove the pin from the proxy's /etc/hosts: %s" % (err or out).strip())

    def proxy_shell(self, script):
        proxy = self.proxy()
        if not proxy:
            return None
        rc, out, _err = self.docker.sh(proxy, script)
        return rc, out

    # -- waiting -----------------------------------------------------------------------------

    def wait_healthy(self, find, timeout, what, remove_on_failure=()):
        """Until the container ``find()`` names is ready (READY); seconds waited.

        "unhealthy" is not final: BookWyrm's healthcheck gives up after 25 tries 3 s apart,
        which a slow host's startup can outlast; Docker keeps checking, and the first success
        makes it healthy. Only a container that stopped, or our timeout, is final.
        """
        started = self.clock()
        while True:
            container = find()
            state = self.docker.state(container) if container else "gone"
            if state in READY:
                return round(self.clock() - started, 1)
            waited = self.clock() - started
            if state in GONE or waited > timeout:
                _rc, logs, log_err = self.docker.run(["logs", "--tail", "30", container]) if container else (1, "", "")
                for leftover in remove_on_failure:
                    self.docker.run(["rm", "-f", leftover])
                raise InstanceError(
                    "%s did not become healthy (%s after %ds): check `docker compose ps` and its logs"
                    % (what, state, waited),
                    log_lines=(logs + log_err).strip().splitlines()[-30:],
                )
            self.sleep(1)

    def app_services(self):
        """The other services running BookWyrm's code (they need the new settings too); db and
        redis do not, and recreating them cuts the site off. None: compose cannot say (v1)."""
        services = self.compose.services()
        if not services or self.web not in services:
            return None
        web = services[self.web]
        return sorted(name for name, spec in services.items() if name != self.web and same_code(spec, web))

    # -- the interface -----------------------------------------------------------------------

    def collect_static(self):
        rc, out, err = self.compose.run(["run", "--rm", "--no-deps", "-T", self.web, "sh", "-c", STATIC_SCRIPT])
        if rc != 0:
            raise InstanceError(
                "compile_themes && collectstatic in a one-off %s container failed (rc=%s): %s"
                % (self.web, rc, (err or out).strip()[-800:])
            )
        return dict(output=(out + err).strip().splitlines()[-20:])

    def rolling_restart(self, health_timeout):
        # BookWyrm's nginx reaches web through a static `upstream web { server web:8000; }` (no
        # resolver): it looks "web" up when it (re)loads, and while two web containers run the
        # name resolves to both. Stopping the old one under it would leave nginx sending
        # requests to an address that no longer answers (a hang, then a 502). So the new
        # container becomes healthy, nginx is reloaded with "web" pinned to it and its old
        # workers drain, and only then does the old container stop.
        old = self.web_ids()
        if not old:
            self.compose.check(["up", "-d"], "up -d")
            self.reload_proxy()
            recreated, retired, healthy, pinned = sorted(self.compose.services() or []), [], None, False
        else:
            self.compose.check(
                ["up", "-d", "--no-deps", "--no-recreate", "--scale", "%s=%d" % (self.web, len(old) + 1), self.web],
                "up --scale %s" % self.web,
            )
            new = [cid for cid in self.web_ids() if cid not in old]
            if not new:
                raise InstanceError("no new %s container was started: check `docker compose ps`" % self.web)
            healthy = self.wait_healthy(lambda: new[0], health_timeout, "the new %s container" % self.web, new)
            pinned = self.pin_proxy(self.address_for_proxy(new[0]))
            try:
                self.reload_proxy()  # new requests go to the new container; the old finishes its own
                for cid in old:  # SIGTERM: gunicorn finishes what it has and exits
                    self.docker.run(["stop", "--time", "30", cid])
                for cid in old:
                    self.docker.run(["rm", cid])
            finally:
                if pinned:  # "web" resolves to the new container alone now
                    self.unpin_proxy(pinned)
                self.reload_proxy()
            apps = self.app_services()
            if apps is None:
                self.compose.check(["up", "-d"], "up -d")
            elif apps:
                self.compose.check(["up", "-d", "--no-deps"] + apps, "up -d %s" % " ".join(apps))
            recreated, retired = [self.web] + (apps or []), [cid[:12] for cid in old]
        settled = self.wait_healthy(
            lambda: (self.web_ids() or [None])[0], health_timeout, "%s after the restart" % self.web
        )
        return dict(
            recreated=recreated,
            retired=retired,
            healthy_after_seconds=healthy if healthy is not None else settled,
            proxy_pinned=bool(pinned),
            warnings=list(self.warnings),
        )

    def restore(self, health_timeout):
        # compose recreates only what differs from the .env now in place (the previous one):
        # after a failed swap, nothing; after a completed one, the services it recreated.
        self.compose.check(["up", "-d"], "up -d")
        self.reload_proxy()  # nginx keeps the address "web" had when it loaded
        healthy = self.wait_healthy(lambda: (self.web_ids() or [None])[0], health_timeout, self.web)
        return dict(healthy_after_seconds=healthy, warnings=list(self.warnings))

    def manage_shell(self, code):
        # By container id, not `compose exec`: after a rolling restart compose v1's exec looks
        # for the container of index 1, which was retired. The code goes in -c, not on stdin:
        # Django's shell reads stdin only if it is readable the instant it starts (select with
        # no timeout); on a loaded host it is not yet, and an interactive shell eats the code.
        ids = self.web_ids()
        if not ids:
            raise InstanceError("no running %s container: check `docker compose ps`" % self.web)
        rc, out, err = self.docker.run(["exec", ids[0], "python", "manage.py", "shell", "-c", code])
        if rc != 0:
            detail = (err or out).strip()[-800:]
            raise InstanceError("manage.py shell in %s failed (rc=%s): %s" % (self.web, rc, detail))
        return out

    def apply_proxy_config(self):
        # A new bind mount (the override that mounts our snippet) needs a new container: the
        # configuration is checked in a throwaway one first, then nginx is recreated.
        rc, out, err = self.compose.run(["run", "--rm", "--no-deps", "-T", self.proxy_service, "nginx", "-t"])
        if rc != 0:
            raise InstanceError("nginx refuses its configuration: %s" % (err or out).strip()[-800:])
        self.compose.check(["up", "-d", "--no-deps", "--force-recreate", self.proxy_service], "up nginx")
        return dict(proxy="recreated")

    def psql(self, sql, variables=None):
        argv = list(PSQL)
        for name, value in sorted((variables or {}).items()):
            argv += ["-v", "%s=%s" % (name, value)]
        argv += ["-f", "-"]
        rc, out, err = self.compose.exec_(self.db, argv, data=sql)
        if rc != 0:
            raise InstanceError(
                "psql in the %s container failed (rc=%s): %s (is it running? docker compose ps)"
                % (self.db, rc, (err or out).strip())
            )
        return out
