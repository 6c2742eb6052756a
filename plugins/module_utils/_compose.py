# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Running commands in a BookWyrm instance's containers with the compose the host has.

BookWyrm admins run either the compose v2 plugin (``docker compose``) or the legacy
``docker-compose`` v1; upstream's own helper falls back from one to the other, so do we.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class ComposeError(Exception):
    pass


def detect_compose(run_command, preference="auto"):
    """The compose command as an argv prefix: ['docker', 'compose'] or ['docker-compose']."""
    candidates = {
        "v2": [["docker", "compose"]],
        "v1": [["docker-compose"]],
        "auto": [["docker", "compose"], ["docker-compose"]],
    }[preference]
    for argv in candidates:
        rc, _out, _err = run_command(argv + ["version"])
        if rc == 0:
            return argv
    raise ComposeError(
        "No docker compose found (tried %s). Install the compose v2 plugin or docker-compose."
        % ", ".join(" ".join(c) for c in candidates)
    )


class Compose(object):
    """One instance: its directory, project name and compose files."""

    def __init__(self, run_command, project_src, project_name=None, files=None, preference="auto"):
        self.run_command = run_command
        self.project_src = project_src
        self.project_name = project_name
        self.files = files or []
        self.argv = detect_compose(run_command, preference)

    def base(self):
        argv = list(self.argv)
        if self.project_name:
            argv += ["--project-name", self.project_name]
        for name in self.files:
            argv += ["--file", os.path.join(self.project_src, name)]
        return argv

    def exec_(self, service, command, data=None):
        """`compose exec -T SERVICE COMMAND` in the project directory; returns (rc, out, err)."""
        argv = self.base() + ["exec", "-T", service] + list(command)
        return self.run_command(argv, cwd=self.project_src, data=data)
