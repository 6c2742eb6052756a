#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: connector
short_description: Point BookWyrm's legacy self connector at the bucket
version_added: 0.1.0
description:
  - Instances created before BookWyrm v0.1.0 keep a C(self_connector) row in C(bookwyrm_connector)
    whose C(covers_url) names the instance's local C(/images/). After a move to object storage it
    must name the bucket's C(images/) URL instead.
  - Only rows with C(connector_file='self_connector') are touched. Connector id 1 is never
    changed on that ground, since on every current database it is bookwyrm.social's remote connector.
  - Current instances have no such row; then the module reports C(ok) and changes nothing.
  - Runs C(psql) in the instance's own database container through docker compose (v2 plugin or
    legacy docker-compose), with the credentials the container already has.
  - With O(install=dockerless), runs C(manage.py dbshell) as O(user) from O(project_src) with the
    instance's venv instead, so psql gets the credentials of the instance's own C(.env).
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  project_src:
    description: The instance's directory (where C(docker-compose.yml) and C(.env) are).
    type: path
    required: true
  install:
    description: The kind of install, docker compose or dockerless (systemd units, a venv in O(project_src)).
    type: str
    choices: [docker, dockerless]
    default: docker
  user:
    description: With O(install=dockerless), the system user the instance runs as.
    type: str
    default: bookwyrm
  project_name:
    description: The compose project name, when it is not the directory's name.
    type: str
  files:
    description: Compose files, relative to O(project_src), when not the default ones.
    type: list
    elements: str
  compose_command:
    description:
      - Which compose to use; V(auto) prefers the v2 plugin.
      - V(v2) and V(v1) are used as given, without a probe (each probe starts compose).
    type: str
    choices: [auto, v2, v1]
    default: auto
  service:
    description: The database service.
    type: str
    default: db
  covers_url:
    description:
      - The new covers URL, for example C(https://bucket.s3.example.com/images/).
    type: str
    required: true
extends_documentation_fragment:
  - bookwyrm.s3.attributes
attributes:
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Point the legacy self connector at the bucket
  bookwyrm.s3.connector:
    project_src: /opt/bookwyrm
    covers_url: https://media.example.com/images/
"""

RETURN = r"""
connectors:
  description: The self connector rows after the change (none on current instances).
  returned: always
  type: list
  elements: dict
  sample: [{"id": 4, "identifier": "example.com", "covers_url": "https://media.example.com/images/"}]
compose:
  description: The compose command used.
  returned: with O(install=docker)
  type: str
  sample: docker compose
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._compose import ComposeInstance
from ansible_collections.bookwyrm.s3.plugins.module_utils._connector import ConnectorError, SelfConnector
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError
from ansible_collections.bookwyrm.s3.plugins.module_utils._systemd import SystemdInstance

ARGUMENT_SPEC = dict(
    project_src=dict(type="path", required=True),
    project_name=dict(type="str"),
    files=dict(type="list", elements="str"),
    compose_command=dict(type="str", default="auto", choices=["auto", "v2", "v1"]),
    service=dict(type="str", default="db"),
    covers_url=dict(type="str", required=True),
    install=dict(type="str", default="docker", choices=["docker", "dockerless"]),
    user=dict(type="str", default="bookwyrm"),
)


class ConnectorManager(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def validate(self):
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", self.params["covers_url"]):
            self.module.fail_json(
                msg="covers_url must be an absolute http(s) URL such as "
                "https://media.example.com/images/, got %r." % self.params["covers_url"]
            )

    def run(self):
        self.validate()
        params = self.params
        try:
            if params["install"] == "dockerless":
                instance = SystemdInstance(self.module.run_command, params["project_src"], params["user"])
            else:
                instance = ComposeInstance(
                    self.module.run_command,
                    params["project_src"],
                    project_name=params["project_name"],
                    files=params["files"],
                    compose_command=params["compose_command"],
                    db_service=params["service"],
                )
            connector = SelfConnector(instance)
            before, after = connector.plan(params["covers_url"])
            changed = before != after
            if changed and not self.module.check_mode:
                connector.apply(params["covers_url"])
                after = connector.rows()
        except (InstanceError, ConnectorError) as exc:
            self.module.fail_json(msg=str(exc))
        result = dict(changed=changed, connectors=after)
        if getattr(instance, "compose", None) is not None:
            result["compose"] = " ".join(instance.compose.argv)
        if self.module._diff:
            result["diff"] = dict(before={"connectors": before}, after={"connectors": after})
        self.module.exit_json(**result)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    ConnectorManager(module).run()


if __name__ == "__main__":
    main()
