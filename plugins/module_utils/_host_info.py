# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the role reads on an instance's host before it acts, in one pass: its .env (without
secrets), the history of its buckets, the compose project's volumes and the compose command
(picked by the compose driver's own ``detect_compose``), the web unit, a Python with boto3.
Read-only; what is missing is reported as missing, preflight decides."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import json
import os
import re

from ansible_collections.bookwyrm.s3.plugins.module_utils._compose import compose_version, detect_compose
from ansible_collections.bookwyrm.s3.plugins.module_utils._dotenv import DotEnv
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError

# What the S3 modules import: boto3 and the packages it needs to import. Found, not imported:
# importing boto3 costs a third of a second of CPU, on every run of the play.
BOTO3_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3")
FIND_BOTO3 = "import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in %r) else 1)" % (
    BOTO3_PACKAGES,
)


def finds_boto3():
    """Whether this interpreter has boto3 and what it imports (FIND_BOTO3 asks another one)."""
    return all(importlib.util.find_spec(name) for name in BOTO3_PACKAGES)


TRUE_WORDS = ("true", "1", "yes")


class HostInfoError(Exception):
    """A file the role keeps could not be read as it must be; the message says what to do."""

    def __init__(self, msg):
        super(HostInfoError, self).__init__(msg)
        self.msg = msg


def compose_project(override, env, instance_dir):
    """The compose project name as compose derives it (lower case, [a-z0-9_-] only)."""
    name = override or env.get("COMPOSE_PROJECT_NAME") or os.path.basename(os.path.normpath(instance_dir))
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def read_history(path):
    """The history file as the role writes it: ``buckets`` (every bucket the instance has used)
    and ``connector`` (the covers URL the legacy self connector was last checked for); both
    empty when the file does not exist."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError):
        text = ""
    try:
        document = json.loads(text) if text.strip() else {}
        return dict(buckets=document.get("buckets", []), connector=document.get("connector", {}))
    except (ValueError, AttributeError):
        raise HostInfoError(
            '%s is not the JSON this collection writes ({"buckets": [...]}): restore it from a backup, '
            "or remove it if no move between buckets is unfinished." % path
        ) from None


class HostInfo(object):
    """Reads one host; ``run_command`` has AnsibleModule.run_command's signature."""

    def __init__(
        self,
        run_command,
        instance_dir,
        history_path,
        project_name="",
        web_unit="bookwyrm.service",
        python="",
        compose_command="auto",
        which=None,
        fallback_python="",
    ):
        self.run_command = run_command
        self.instance_dir = instance_dir
        self.history_path = history_path
        self.project_name = project_name
        self.web_unit = web_unit
        self.python = python
        self.fallback_python = fallback_python
        self.compose_command = compose_command
        self.which = which or (lambda name: None)

    def run(self, argv):
        """run_command, with a command the host does not have answering 127 (not an exception)."""
        if not os.path.isabs(argv[0]) and not self.which(argv[0]):
            return 127, "", "%s: command not found" % argv[0]
        return self.run_command(argv)

    def env_file(self):
        path = os.path.join(self.instance_dir, ".env")
        try:
            st = os.stat(path)
        except OSError:
            return dict(exists=False, path=path), {}
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
        return dict(exists=True, path=path, uid=st.st_uid, gid=st.st_gid), DotEnv(text).values()

    def volume(self, name):
        """The Mountpoint of a Docker volume, or '' (no such volume, no docker)."""
        rc, out, _err = self.run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", name])
        return out.strip() if rc == 0 else ""

    def compose(self):
        """The compose command the host has, as the compose driver picks it; or why there is none."""
        if not self.which("docker"):
            return dict(error="No docker on this host.")
        try:
            argv = detect_compose(self.run, self.compose_command)
        except InstanceError as exc:
            return dict(error=exc.msg)
        return dict(command=" ".join(argv), version=compose_version(argv))

    def unit_state(self):
        """systemd's LoadState of the web unit ('' without systemd)."""
        rc, out, _err = self.run(["systemctl", "show", "--property", "LoadState", "--value", self.web_unit])
        return out.strip() if rc == 0 else ""

    def imports_boto3(self, python):
        rc, _out, _err = self.run([python, "-c", FIND_BOTO3])
        return rc == 0

    def boto3_python(self, own_python, own_has_boto3):
        """The interpreter the S3 modules can run with, or '' when none has boto3: the one asked
        for (this module's when none is), else the venv an earlier run made (``fallback_python``),
        so that a rerun does not install into it again."""
        if not self.python or self.python == own_python:
            if own_has_boto3():
                return own_python
        elif self.imports_boto3(self.python):
            return self.python
        if self.fallback_python and os.path.exists(self.fallback_python) and self.imports_boto3(self.fallback_python):
            return self.fallback_python
        return ""

    def gather(self, own_python, own_has_boto3):
        env_file, env = self.env_file()
        project = compose_project(self.project_name, env, self.instance_dir)
        history = read_history(self.history_path)
        return dict(
            env_file=env_file,
            env=env,
            history=history["buckets"],
            connector_checked=history["connector"],
            project=project,
            media_volume=self.volume(project + "_media_volume"),
            exports_volume=self.volume(project + "_exports_volume"),
            compose=self.compose(),
            web_unit_state=self.unit_state(),
            boto3_python=self.boto3_python(own_python, own_has_boto3),
        )
