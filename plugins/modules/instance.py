#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: instance
short_description: Restart a BookWyrm instance onto its .env without a failed request, collect its static files
version_added: 0.1.0
description:
  - Acts on a BookWyrm instance of either kind of install, O(install=docker) (upstream's docker
    compose project in O(instance_dir)) or O(install=dockerless) (upstream's "install without
    Docker", with the checkout in O(instance_dir) owned by O(user), run by the systemd units
    O(web_unit) and O(other_units)).
  - V(restart) brings every process onto the storage settings of the C(.env) in place, and only
    when one still runs with other ones. C(docker compose) reads C(.env) only when it creates a
    container, so a second web container with the new settings is started; once it is healthy,
    BookWyrm's nginx is reloaded with C(web) resolving to it alone, its old workers finish their
    requests, the old container stops; then the services running BookWyrm's code (celery worker,
    beat, flower) are recreated. On a dockerless install gunicorn's master is told to start one
    new worker per old one (SIGTTIN); once they have booted and answer, the old ones are retired
    gracefully (SIGTTOU), then the other units restart. Where the workers' heartbeat files
    cannot be read, SIGHUP (gunicorn's graceful reload) instead. Afterwards the template
    fragments BookWyrm caches and the pages its nginx caches, which keep the storage URLs they
    were rendered with, are dropped (not the activity streams or sessions beside them).
  - V(restore) does the same unconditionally after a failed cutover put the previous C(.env)
    back; on docker it is C(docker compose up -d), which recreates only what differs.
  - V(static) runs C(compile_themes) then C(collectstatic) in one process environment (one
    throwaway web container, or the instance's user in its venv), so the compiled theme CSS is
    collected too; with O(unless_served), only when that file is not served yet. It also reports
    what runs with stale settings, as V(info) does, so that a caller can leave out a V(restart)
    that would find nothing to do.
  - V(info) reports the compose command the host has (docker) and what runs with stale settings;
    it changes nothing.
  - V(proxy) has nginx check its configuration, then take it, after a snippet of ours changed.
    On docker nginx is recreated (a new bind mount needs a new container); dockerless, it is
    reloaded gracefully.
  - V(adopt_media) (dockerless) gives every entry of O(media_dir) not owned by O(user) to it,
    with the modes BookWyrm's storage writes (files 0644, directories 0755).
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  install:
    description: The kind of install.
    type: str
    choices: [docker, dockerless]
    required: true
  action:
    description: What to do (see the description).
    type: str
    choices: [info, restart, restore, static, proxy, adopt_media]
    default: restart
  instance_dir:
    description: The checkout, with C(.env) (and C(docker-compose.yml), or C(venv/)).
    type: path
    default: /opt/bookwyrm
  health_timeout:
    description: Seconds to wait for the new web processes to answer.
    type: int
    default: 300
  project_name:
    description: The compose project name (docker). Default compose's own (the directory's name).
    type: str
  compose_files:
    description: Compose files relative to O(instance_dir) (docker). Default compose's own.
    type: list
    elements: str
    default: []
  compose_command:
    description:
      - Which compose (docker); V(auto) tries the v2 plugin, then C(docker-compose).
      - V(v2) and V(v1) are used as given, without a probe (each probe starts compose).
    type: str
    choices: [auto, v2, v1]
    default: auto
  web_service:
    description: The compose service running gunicorn (docker).
    type: str
    default: web
  proxy_service:
    description: The compose service running BookWyrm's nginx (docker); none when empty.
    type: str
    default: nginx
  user:
    description: The system user a dockerless instance runs as and owns its files.
    type: str
    default: bookwyrm
  web_unit:
    description: The unit running gunicorn (dockerless).
    type: str
    default: bookwyrm.service
  other_units:
    description: The units running BookWyrm's code besides gunicorn (dockerless); those not installed are skipped.
    type: list
    elements: str
    default: [bookwyrm-worker.service, bookwyrm-scheduler.service]
  web_url:
    description: Where gunicorn answers on the host (dockerless), to know its new workers serve.
    type: str
    default: http://127.0.0.1:8000/
  proxy_unit:
    description: The unit running the host's nginx (dockerless).
    type: str
    default: nginx.service
  media_dir:
    description: The media tree, for V(adopt_media). Default C(images/) of O(instance_dir).
    type: path
  unless_served:
    description:
      - For V(static), the URL of a file that exists once the themes are compiled and collected
        (a theme's CSS in the bucket). When it answers C(200) to a C(HEAD) from the host, nothing
        runs and nothing changes; any other answer, or none, and the static files are collected.
      - Leave it out to collect them every time (after a change of C(.env), say).
    type: str
notes:
  - Needs root (become) for C(docker) and C(systemctl). Management commands of a dockerless
    instance run as O(user) with C(runuser), from the checkout, with its venv's Python.
extends_documentation_fragment:
  - bookwyrm.s3.attributes
attributes:
  check_mode:
    support: full
    details: >-
      Every action reports what it would do and does nothing; V(restore), V(proxy) and V(static)
      (unless O(unless_served) answers) report a change.
  platform:
    platforms: posix
  idempotent:
    support: partial
    details: V(restore), V(proxy) and V(static) without O(unless_served) always run.
seealso:
  - name: community.docker's compose module
    description: This module's compose driver follows its way of building command lines.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_compose_v2_module.html
"""

EXAMPLES = r"""
- name: Pick up the new .env (a second web container, then the old one retired)
  bookwyrm.s3.instance:
    install: docker
    instance_dir: /opt/bookwyrm
    project_name: bookwyrm

- name: Compile the themes and collect static files (to the bucket the .env names)
  bookwyrm.s3.instance:
    install: docker
    action: static
    instance_dir: /opt/bookwyrm

- name: The same, only when the theme is not in the bucket yet
  bookwyrm.s3.instance:
    install: docker
    action: static
    instance_dir: /opt/bookwyrm
    unless_served: https://bucket.example.net/static/css/themes/bookwyrm-light.css

- name: Pick up the new .env on a dockerless install (new gunicorn workers, then the old ones retired)
  bookwyrm.s3.instance:
    install: dockerless
    instance_dir: /opt/bookwyrm

- name: Files downloaded as root into the media tree become the instance's
  bookwyrm.s3.instance:
    install: dockerless
    action: adopt_media
    media_dir: /opt/bookwyrm/images
"""

RETURN = r"""
compose_command:
  description: The compose the host has (docker).
  returned: install is docker
  type: str
  sample: docker compose
compose_version:
  description: V(v2) for the compose plugin, V(v1) for C(docker-compose).
  returned: install is docker
  type: str
  sample: v2
stale:
  description:
    - The services or units that ran with other storage settings than C(.env) before the action
      (after it, for V(static)).
  returned: action is info, restart or restore; static, unless what runs could not be read (a restart would say why)
  type: list
  elements: str
  sample: [web]
recreated:
  description: Services or units recreated or restarted.
  returned: when restarted
  type: list
  elements: str
  sample: [web, celery_worker, celery_beat]
reloaded:
  description: Units whose workers were replaced without a restart (gunicorn's, dockerless).
  returned: when a dockerless instance restarted
  type: list
  elements: str
  sample: [bookwyrm.service]
reload:
  description:
    - How the dockerless web unit took the new settings. V(TTIN/TTOU) new workers booted beside
      the old ones, which were then retired; V(HUP) gunicorn's graceful reload (the workers'
      heartbeat files were not readable, or a restore); V(restart) the unit was not running.
  returned: when a dockerless instance restarted or was restored
  type: str
  sample: TTIN/TTOU
retired:
  description: The web containers (short ids) or gunicorn worker PIDs the restart replaced.
  returned: when restarted
  type: list
  elements: str
  sample: [3f2a9c1b7d0e]
healthy_after_seconds:
  description: Seconds until the new web processes answered.
  returned: when restarted or restored
  type: float
  sample: 12.5
proxy_pinned:
  description: Whether nginx was pointed at the new web container before the old one stopped (docker).
  returned: when a docker instance restarted
  type: bool
  sample: true
warnings:
  description: What went less well than planned without failing (an nginx reload refused, workers slow to drain).
  returned: when restarted or restored
  type: list
  elements: str
  sample: []
fragments_cleared:
  description: Cached template fragments dropped after the restart.
  returned: when restarted or restored
  type: int
  sample: 2
pages_cleared:
  description: Pages dropped from each nginx proxy cache directory after the restart.
  returned: when restarted or restored
  type: dict
  sample: {/var/cache/nginx/bookwyrm_cache: 3}
output:
  description: The last lines C(compile_themes) and C(collectstatic) printed.
  returned: action is static and they ran
  type: list
  elements: str
  sample: ["12 static files copied."]
served:
  description: O(unless_served), when it answered C(200) and so nothing ran.
  returned: action is static and O(unless_served) is served
  type: str
  sample: https://bucket.example.net/static/css/themes/bookwyrm-light.css
proxy:
  description: What nginx did with its new configuration, V(recreated) or V(reloaded).
  returned: action is proxy
  type: str
  sample: reloaded
adopted:
  description: How many media entries were (or, in check mode, would be) given to O(user).
  returned: action is adopt_media
  type: int
  sample: 5
sample:
  description: Up to 5 of those entries.
  returned: action is adopt_media
  type: list
  elements: str
  sample: [/opt/bookwyrm/images/covers/new.png]
"""

import grp
import os
import pwd
import signal

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._compose import ComposeInstance
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError, http_status
from ansible_collections.bookwyrm.s3.plugins.module_utils._systemd import SystemdInstance

ARGUMENT_SPEC = dict(
    install=dict(type="str", required=True, choices=["docker", "dockerless"]),
    action=dict(
        type="str", default="restart", choices=["info", "restart", "restore", "static", "proxy", "adopt_media"]
    ),
    instance_dir=dict(type="path", default="/opt/bookwyrm"),
    health_timeout=dict(type="int", default=300),
    project_name=dict(type="str"),
    compose_files=dict(type="list", elements="str", default=[]),
    compose_command=dict(type="str", default="auto", choices=["auto", "v2", "v1"]),
    web_service=dict(type="str", default="web"),
    proxy_service=dict(type="str", default="nginx"),
    user=dict(type="str", default="bookwyrm"),
    web_unit=dict(type="str", default="bookwyrm.service"),
    other_units=dict(type="list", elements="str", default=["bookwyrm-worker.service", "bookwyrm-scheduler.service"]),
    web_url=dict(type="str", default="http://127.0.0.1:8000/"),
    proxy_unit=dict(type="str", default="nginx.service"),
    media_dir=dict(type="path"),
    unless_served=dict(type="str"),
)


def build_instance(module):
    params = module.params
    if params["install"] == "dockerless":
        return SystemdInstance(
            module.run_command,
            instance_dir=params["instance_dir"],
            user=params["user"],
            web_unit=params["web_unit"],
            other_units=params["other_units"],
            web_url=params["web_url"],
            proxy_unit=params["proxy_unit"],
        )
    return ComposeInstance(
        module.run_command,
        params["instance_dir"],
        project_name=params["project_name"],
        files=params["compose_files"],
        compose_command=params["compose_command"],
        web_service=params["web_service"],
        proxy_service=params["proxy_service"],
    )


class InstanceManager(object):
    def __init__(self, module, instance):
        self.module = module
        self.params = module.params
        self.instance = instance

    def describe(self):
        compose = getattr(self.instance, "compose", None)
        return dict(compose_command=" ".join(compose.argv), compose_version=compose.version) if compose else {}

    def handle_info(self):
        # also before .env exists (a fresh install being provisioned): then nothing is stale
        has_env = os.path.isfile(os.path.join(self.params["instance_dir"], ".env"))
        return False, dict(self.describe(), stale=self.instance.stale_processes() if has_env else [])

    def handle_restart(self, force=False):
        stale = self.instance.stale_processes()
        result = dict(self.describe(), stale=stale)
        if not (stale or force):
            return False, result
        if not self.module.check_mode:
            timeout = self.params["health_timeout"]
            result.update(self.instance.restore(timeout) if force else self.instance.rolling_restart(timeout))
            result.update(self.instance.clear_caches())
        if self.module._diff:
            result["diff"] = dict(before={"stale": stale}, after={"stale": []})
        return True, result

    def handle_static(self):
        probe = self.params["unless_served"]
        if probe:
            # a HEAD from the host, as the role's probe always was: the theme is served already
            status = http_status(probe, timeout=15, method="HEAD")
            if status == 200:
                return False, dict(self.describe(), served=probe, **self.stale_after())
        if self.module.check_mode:
            return True, dict(self.describe(), **self.stale_after())
        return True, dict(self.describe(), **self.instance.collect_static(), **self.stale_after())

    def stale_after(self):
        # Read in this run of the module, the role's rerun leaves out a restart call (a module
        # run: about half a second) when nothing is stale. Not read, the restart finds out why.
        try:
            return dict(stale=self.instance.stale_processes())
        except InstanceError:
            return {}

    def handle_proxy(self):
        if self.module.check_mode:
            return True, self.describe()
        return True, dict(self.describe(), **self.instance.apply_proxy_config())

    def handle_adopt_media(self):
        if self.params["install"] != "dockerless":
            raise InstanceError("adopt_media is for dockerless installs: a docker media volume is its containers'")
        media_dir = self.params["media_dir"] or os.path.join(self.params["instance_dir"], "images")
        try:
            entry = pwd.getpwnam(self.params["user"])
        except KeyError:
            raise InstanceError(
                "user %r does not exist on the host: set the instance's user" % self.params["user"]
            ) from None
        if not os.path.isdir(media_dir):
            raise InstanceError("media directory %s not found" % media_dir)
        paths = self.instance.adopt_media(media_dir, entry.pw_uid, entry.pw_gid, dry_run=self.module.check_mode)
        result = dict(adopted=len(paths), sample=paths[:5])
        if self.module._diff and paths:
            owner = "%s:%s" % (self.params["user"], grp.getgrgid(entry.pw_gid).gr_name)
            result["diff"] = dict(before={"other_owner": paths[:20]}, after={"owner": owner})
        return bool(paths), result

    def run(self):
        action = self.params["action"]
        if action in ("restart", "restore"):
            return self.handle_restart(force=action == "restore")
        return getattr(self, "handle_" + action)()


def interrupted(signum, _frame):
    # SIGTERM, or SIGHUP when the controller's SSH session goes (a Ctrl-C): an exception, so
    # that a rolling restart cut short still takes its pin out of nginx (its finally).
    raise InstanceError("interrupted by signal %d; run the playbook again to finish" % signum)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
    env = os.path.join(module.params["instance_dir"], ".env")
    if module.params["action"] != "info" and not os.path.isfile(env):
        module.fail_json(msg="%s not found: set instance_dir to the instance's checkout" % env)
    try:
        changed, result = InstanceManager(module, build_instance(module)).run()
    except InstanceError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
