#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_info
short_description: Read what a BookWyrm instance's host holds, in one pass
version_added: 0.1.0
description:
  - Reads, without changing anything, what the role decides from on the host of a BookWyrm
    instance; one module call instead of one per probe (each is a round trip over SSH).
  - The C(.env) in O(instance_dir), its owner and its settings B(less every secret) (names with
    SECRET, PASSWORD, KEY, TOKEN or CREDENTIAL).
  - The buckets the instance has used, and what the legacy self connector was last checked for,
    from O(history_path) (the collection's own file).
  - The compose project name as compose derives it, the mount points of its C(media_volume)
    and C(exports_volume) (empty when Docker or the volume is not there), and the compose command
    the host has (picked as M(bookwyrm.s3.instance) and M(bookwyrm.s3.connector) pick it).
  - systemd's load state of O(web_unit) (empty without systemd), which a dockerless install has.
  - Which interpreter has boto3 and botocore for the collection's S3 modules.
  - What is missing is reported as missing; only a history file that is not the collection's JSON fails.
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
options:
  instance_dir:
    description: The instance's checkout, with its C(.env).
    type: path
    required: true
  history_path:
    description: The history of the instance's buckets, as the role writes it.
    type: path
    required: true
  project_name:
    description:
      - The compose project name. Empty for compose's own rule (C(COMPOSE_PROJECT_NAME) of C(.env), else
        the name of O(instance_dir)); either way lower-cased, with only letters, digits, C(_) and C(-) kept.
    type: str
    default: ""
  web_unit:
    description: The systemd unit that runs gunicorn on a dockerless install.
    type: str
    default: bookwyrm.service
  compose_command:
    description: Which compose to look for; V(auto) tries the v2 plugin, then C(docker-compose).
    type: str
    choices: [auto, v2, v1]
    default: auto
  python:
    description:
      - The interpreter the S3 modules would run with. Empty for the one running this module.
    type: str
    default: ""
  fallback_python:
    description:
      - The interpreter of the venv the role puts boto3 in when O(python) has none. When O(python)
        lacks boto3 and this one has it, RV(boto3_python) is this one, so that a rerun finds the
        venv an earlier run made instead of installing into it again.
    type: str
    default: ""
extends_documentation_fragment:
  - bookwyrm.s3.attributes
attributes:
  check_mode:
    details: Reads the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
  idempotent:
    details:
      - Changes nothing, ever.
"""

EXAMPLES = r"""
- name: What the instance's host holds
  bookwyrm.s3.host_info:
    instance_dir: /opt/bookwyrm
    history_path: /opt/bookwyrm/.bookwyrm-s3-buckets.json
  register: bookwyrm_host

- name: The media volume of a docker compose install
  ansible.builtin.debug:
    msg: "{{ bookwyrm_host.media_volume or 'not a docker compose install' }}"
"""

RETURN = r"""
env_file:
  description: The C(.env) file; C(uid) and C(gid) only when it exists.
  returned: always
  type: dict
  sample: {"exists": true, "path": "/opt/bookwyrm/.env", "uid": 1000, "gid": 1000}
env:
  description: The settings of C(.env) without the secrets (a value that cannot be read is null); empty without one.
  returned: always
  type: dict
  sample: {"DOMAIN": "books.example.com", "USE_S3": "true", "AWS_STORAGE_BUCKET_NAME": "bookwyrm-media"}
history:
  description: The buckets of O(history_path), oldest first; empty without one.
  returned: always
  type: list
  elements: dict
  sample: [{"bucket": "bookwyrm-media", "endpoint_url": "https://s3.example.com"}]
connector_checked:
  description:
    - What O(history_path) says of the legacy self connector (instances from before BookWyrm
      v0.1.0) - the C(covers_url) it was checked for, since when, and how many rows it has; empty
      when it was never checked.
  returned: always
  type: dict
  sample: {"covers_url": "https://media.example.com/images/", "checked": "2026-12-07T02:10:00+00:00", "rows": 0}
project:
  description: The compose project name.
  returned: always
  type: str
  sample: bookwyrm
media_volume:
  description: The mount point of C(PROJECT_media_volume), empty when there is none.
  returned: always
  type: str
  sample: /var/lib/docker/volumes/bookwyrm_media_volume/_data
exports_volume:
  description: The mount point of C(PROJECT_exports_volume), empty when there is none.
  returned: always
  type: str
  sample: ""
compose:
  description:
    - The compose command (C(command), C(version) V(v2) or V(v1)), or C(error) saying why there is none.
  returned: always
  type: dict
  sample: {"command": "docker compose", "version": "v2"}
web_unit_state:
  description: systemd's C(LoadState) of O(web_unit) (C(loaded) when it exists), empty without systemd.
  returned: always
  type: str
  sample: not-found
boto3_python:
  description:
    - The interpreter of O(python) (or this module's) when it has boto3, botocore and the packages
      they import, else O(fallback_python) when that one has them, else empty.
    - The packages are found, not imported (importing boto3 takes a third of a second).
  returned: always
  type: str
  sample: /usr/bin/python3
"""

import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bookwyrm.s3.plugins.module_utils._host_info import HostInfo, HostInfoError, finds_boto3

ARGUMENT_SPEC = dict(
    instance_dir=dict(type="path", required=True),
    history_path=dict(type="path", required=True),
    project_name=dict(type="str", default=""),
    web_unit=dict(type="str", default="bookwyrm.service"),
    python=dict(type="str", default=""),
    fallback_python=dict(type="str", default=""),
    compose_command=dict(type="str", default="auto", choices=["auto", "v2", "v1"]),
)


class HostInfoManager(object):
    def __init__(self, module):
        self.module = module
        params = module.params
        self.host = HostInfo(
            module.run_command,
            params["instance_dir"],
            params["history_path"],
            project_name=params["project_name"],
            web_unit=params["web_unit"],
            python=params["python"],
            compose_command=params["compose_command"],
            which=module.get_bin_path,
            fallback_python=params["fallback_python"],
        )

    def run(self):
        try:
            info = self.host.gather(sys.executable, finds_boto3)
        except HostInfoError as exc:
            self.module.fail_json(msg=exc.msg)
        self.module.exit_json(changed=False, **info)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    HostInfoManager(module).run()


if __name__ == "__main__":
    main()
