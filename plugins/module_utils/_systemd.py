# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A dockerless BookWyrm install run by systemd units (the ``dockerless`` kind of ``_instance``).

Upstream's layout: the checkout in /opt/bookwyrm owned by the system user ``bookwyrm``, a venv
in ``venv/``, ``.env`` at the top, units bookwyrm.service (gunicorn), bookwyrm-worker.service
and bookwyrm-scheduler.service. Management commands run as that user, from the checkout, with
its venv's Python. Commands go through ``run_command`` (AnsibleModule's); what is read from
/proc goes through ``proc_root`` so tests drive both with fakes.

Which settings the running web workers use: BookWyrm reads ``.env`` when its settings are
imported, in each gunicorn worker (no ``--preload``), never from the unit's environment, so
/proc/PID/environ says nothing. A worker started after ``.env`` was last written has read the
.env in place; one started before may hold older values. ``running_storage_env`` reports the
first kind with the STORAGE_KEYS of the .env in place and the second as ``{"stale": True}``,
which equals no wanted set of values (so the restart phase restarts). Asking the app over HTTP
would need a header upstream BookWyrm does not send.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import time

from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import (
    Instance,
    InstanceError,
    http_status,
    storage_values,
)

# Django's FileSystemStorage defaults, which BookWyrm keeps: files 0644, directories from the
# umask (0755).
FILE_MODE = 0o644
DIR_MODE = 0o755


# Prints "MTIME CTIME MODE" of gunicorn worker $1's heartbeat file, nothing when it has none.
HEARTBEAT_SCRIPT = r"""for f in /proc/"$1"/fd/*; do
  case "$(readlink "$f" 2>/dev/null)" in *wgunicorn-*) exec stat -L -c "%Y %Z %a" "$f";; esac
done"""


class SystemdError(InstanceError):
    pass


class SystemdInstance(Instance):
    kind = "dockerless"

    def __init__(
        self,
        run_command,
        instance_dir="/opt/bookwyrm",
        user="bookwyrm",
        web_unit="bookwyrm.service",
        other_units=("bookwyrm-worker.service", "bookwyrm-scheduler.service"),
        web_url="http://127.0.0.1:8000/",
        proxy_unit="nginx.service",
        proc_root="/proc",
        sleep=time.sleep,
        clock=time.monotonic,
        now=time.time,
        http_get=None,
    ):
        super(SystemdInstance, self).__init__(run_command, instance_dir, sleep, clock)
        self.user = user
        self.web_unit = web_unit
        self.other_units = list(other_units)
        self.web_url = web_url
        self.proxy_unit = proxy_unit
        self.proc = proc_root
        self.now = now
        self.http_get = http_get or http_status

    # -- plumbing --------------------------------------------------------------------------

    def run(self, argv, data=None, check=True, what=None):
        rc, out, err = self.run_command(argv, cwd=self.dir, data=data)
        if check and rc != 0:
            raise SystemdError(
                "`%s` failed (rc=%s): %s" % (what or " ".join(argv[:6]), rc, (err or out).strip()[-800:])
            )
        return rc, out, err

    def as_user(self, argv):
        return ["runuser", "-u", self.user, "--"] + list(argv)

    def manage(self, args):
        return self.as_user(["venv/bin/python", "manage.py"] + list(args))

    def systemctl(self, args, check=True):
        return self.run(["systemctl"] + list(args), check=check)

    def main_pid(self):
        _rc, out, _err = self.systemctl(["show", "--property", "MainPID", "--value", self.web_unit])
        pid = int(out.strip() or 0)
        if not pid:
            raise SystemdError("%s is not running (no MainPID): `systemctl status %s`" % (self.web_unit, self.web_unit))
        return pid

    def workers(self):
        """The gunicorn workers: the children of the unit's main process."""
        pid = self.main_pid()
        children = set()
        task_dir = os.path.join(self.proc, str(pid), "task")
        for task in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, task, "children")) as handle:
                    children.update(int(c) for c in handle.read().split())
            except (IOError, OSError):
                continue
        return sorted(children)

    def started_at(self, pid):
        """Wall-clock start of a process: its age from /proc (clock-tick precision)."""
        with open(os.path.join(self.proc, str(pid), "stat")) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat; fields[0] is field 3
        with open(os.path.join(self.proc, "uptime")) as handle:
            uptime = float(handle.read().split()[0])
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return self.now() - (uptime - float(start_ticks) / hz)

    def env_path(self):
        return os.path.join(self.dir, ".env")

    def env_written_at(self):
        """When .env was last put in place: its inode's change time, which no copy can set back
        (a copy that keeps the source's mtime, such as a rollback's .env.before-s3, would make
        workers older than the .env they never read look fresh). A chmod also moves it: at worst
        one restart more."""
        st = os.stat(self.env_path())
        return max(st.st_mtime, st.st_ctime)

    # -- the interface ---------------------------------------------------------------------

    def running_storage_env(self):
        env_written = self.env_written_at()
        with open(self.env_path()) as handle:
            current = storage_values(handle.read())
        found = []
        for pid in self.workers():
            try:
                fresh = self.started_at(pid) > env_written + 0.05  # 0.05: tick precision, errs to stale
            except (IOError, OSError):
                continue  # gone meanwhile
            found.append(dict(current) if fresh else {"stale": True})
        return found

    def unit_started_at(self, unit):
        """Start of a unit's main process, None when it does not run."""
        _rc, out, _err = self.systemctl(["show", "--property", "MainPID", "--value", unit], check=False)
        pid = int(out.strip() or 0)
        if not pid:
            return None
        try:
            return self.started_at(pid)
        except (IOError, OSError):
            return None

    def stale_processes(self):
        """What still runs with older settings than the .env in place: ``web`` (gunicorn workers
        started before .env was written, or none running) and every other unit that is loaded
        and not running or started before it. Empty: nothing to restart."""
        stale = []
        workers = self.running_storage_env() if self.unit_active(self.web_unit) else []
        if not workers or any(w.get("stale") for w in workers):
            stale.append(self.web_unit)
        env_written = self.env_written_at()
        for unit in self.other_units:
            if self.unit_exists(unit):
                started = self.unit_started_at(unit)
                if started is None or started <= env_written + 0.05:
                    stale.append(unit)
        return stale

    def unit_active(self, unit):
        _rc, out, _err = self.systemctl(["is-active", unit], check=False)
        return out.strip() == "active"

    def apply_proxy_config(self):
        rc, out, err = self.run(["nginx", "-t", "-q"], check=False)
        if rc != 0:
            raise SystemdError("nginx refuses its configuration: %s" % (err or out).strip()[-800:])
        self.systemctl(["reload", self.proxy_unit])  # graceful: the old workers finish their requests
        return dict(proxy="reloaded")

    def proxy_shell(self, script):
        # The host's own nginx (upstream's dockerless docs install it from the distribution).
        rc, out, _err = self.run(["sh", "-c", script], check=False)
        return rc, out

    def collect_static(self):
        # One shell, so both commands share one process environment and app tree.
        script = "venv/bin/python manage.py compile_themes && venv/bin/python manage.py collectstatic --no-input"
        _rc, out, err = self.run(self.as_user(["sh", "-c", script]), what="compile_themes && collectstatic")
        return dict(output=(out + err).strip().splitlines()[-20:])

    def wait_answering(self, timeout, old):
        """Until no worker of ``old`` is left and the web answers."""
        started = self.clock()
        while True:
            try:
                current = self.workers()
            except SystemdError:
                current = []
            if current and not set(current) & set(old) and self.http_get(self.web_url) == 200:
                return round(self.clock() - started, 1), current
            if self.clock() - started > timeout:
                raise SystemdError(
                    "gunicorn's new workers did not answer within %ds (workers %s, previous %s): "
                    "`journalctl -u %s`" % (timeout, current, old, self.web_unit)
                )
            self.sleep(0.5)

    def booted(self, pid):
        """Has gunicorn worker PID loaded the app and entered its request loop? True, False, or
        None when it cannot be told. Each worker has a heartbeat file (an unlinked
        ``wgunicorn-*`` temporary file) that it touches at every turn of its loop, and never
        before the app is loaded: after the first touch its mtime (a monotonic clock value
        since gunicorn 22; its mode toggled between 0 and 1 before) no longer equals its ctime.
        Read as the instance's user, who owns the workers: root may lack the ptrace right that
        /proc/PID/fd asks of another user's processes (an unprivileged container)."""
        rc, out, _err = self.run(self.as_user(["sh", "-c", HEARTBEAT_SCRIPT, "sh", str(pid)]), check=False)
        fields = out.split()
        if rc != 0 or len(fields) != 3:
            return None
        mtime, ctime, mode = fields
        return mtime != ctime or mode in ("0", "1")

    def wait_until(self, found, timeout, what):
        started = self.clock()
        while True:
            value = found()
            if value:
                return value
            if self.clock() - started > timeout:
                raise SystemdError("%s within %ds: `journalctl -u %s`" % (what, timeout, self.web_unit))
            self.sleep(0.2)

    def signal_web(self, name):
        self.systemctl(["kill", "--signal", name, "--kill-who", "main", self.web_unit])

    def roll_workers(self, old, timeout):
        """New workers first, old ones out once the new serve: TTIN once per old worker (one
        at a time: signals of one kind do not queue), wait until each new worker has booted,
        then TTOU as often, which retires the oldest workers gracefully (they finish their
        requests). Returns the seconds until the new workers served."""
        started = self.clock()
        added = []
        for _worker in old:
            known = set(self.workers()) | set(added)
            self.signal_web("TTIN")
            added.append(
                self.wait_until(
                    lambda known=known: next(iter(sorted(set(self.workers()) - known)), None),
                    timeout,
                    "gunicorn started no new worker on TTIN",
                )
            )
        self.wait_until(
            lambda: all(self.booted(pid) for pid in added) and self.http_get(self.web_url) == 200,
            timeout,
            "gunicorn's new workers %s did not boot" % added,
        )
        healthy = round(self.clock() - started, 1)
        for pid in old:
            self.signal_web("TTOU")
            self.wait_until(lambda pid=pid: pid not in self.workers(), timeout, "old worker %s did not stop" % pid)
        return healthy

    def rolling_restart(self, health_timeout, graceful=True):
        # Upstream's unit has no ExecReload, and the admin's units are not ours to edit: signals
        # to gunicorn's master (the unit's main process). New workers import the settings, so
        # read .env, anew (no --preload). With its heartbeat files readable, new workers boot
        # beside the old ones before those go (roll_workers): no request waits for a boot.
        # Otherwise SIGHUP, gunicorn's graceful reload: it starts new workers and stops the old
        # at once, so requests wait in the backlog while the new ones import the app.
        if not self.unit_active(self.web_unit):
            self.systemctl(["restart", self.web_unit])
            healthy, _new = self.wait_answering(health_timeout, [])
            retired, how = [], "restart"
        else:
            old = self.workers()
            if graceful and old and all(self.booted(pid) is not None for pid in old):
                healthy, how = self.roll_workers(old, health_timeout), "TTIN/TTOU"
            else:
                self.signal_web("HUP")
                healthy, _new = self.wait_answering(health_timeout, old)
                how = "HUP"
            retired = [str(p) for p in old]
        units = [u for u in self.other_units if self.unit_exists(u)]
        if units:
            self.systemctl(["restart"] + units)
        return dict(
            reloaded=[self.web_unit], recreated=units, retired=retired, healthy_after_seconds=healthy, reload=how
        )

    def unit_exists(self, unit):
        _rc, out, _err = self.systemctl(["show", "--property", "LoadState", "--value", unit], check=False)
        return out.strip() == "loaded"

    def restore(self, health_timeout):
        # after a failed cutover, back fast: HUP (the new workers may be what failed to boot)
        result = self.rolling_restart(health_timeout, graceful=False)
        result["recreated"] = [self.web_unit] + result["recreated"]
        return result

    def manage_shell(self, code):
        rc, out, err = self.run(self.manage(["shell", "-c", code]), check=False)
        if rc != 0:
            raise SystemdError(
                "manage.py shell as %s failed (rc=%s): %s" % (self.user, rc, (err or out).strip()[-800:])
            )
        return out

    def psql(self, sql, variables=None):
        # dbshell: psql with the .env's credentials, the password in psql's environment (never argv).
        argv = ["dbshell", "--", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        for name, value in sorted((variables or {}).items()):
            argv += ["-v", "%s=%s" % (name, value)]
        argv += ["-f", "-"]
        rc, out, err = self.run(self.manage(argv), data=sql, check=False)
        if rc != 0:
            raise SystemdError(
                "psql (manage.py dbshell as %s) failed (rc=%s): %s" % (self.user, rc, (err or out).strip())
            )
        return out

    def adopt_media(self, media_root, uid, gid, dry_run=False):
        """After a rollback's download as root: every entry of the media tree not owned by the
        instance's user becomes its own, with BookWyrm's modes. Returns the paths changed (or,
        with ``dry_run``, to change)."""
        changed = []
        for root, dirs, files in os.walk(media_root):
            for name, mode in [(d, DIR_MODE) for d in dirs] + [(f, FILE_MODE) for f in files]:
                path = os.path.join(root, name)
                st = os.lstat(path)
                if st.st_uid != uid or st.st_gid != gid:
                    if not dry_run:
                        os.lchown(path, uid, gid)
                        if not stat.S_ISLNK(st.st_mode):  # a link's mode is its target's
                            os.chmod(path, mode)
                    changed.append(path)
        return changed
