# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: dotenv_values
short_description: The values of a BookWyrm .env file, secrets left out
version_added: 0.1.0
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
description:
  - Reads the text of a C(.env) file the way both C(bash) and docker compose read it and returns
    its keys and values as a dictionary.
  - Keys whose name looks secret (SECRET, PASSWORD, KEY, TOKEN, CREDENTIAL) are left out unless
    O(include_secrets=true), so the result can be kept in facts and printed.
  - A value the two readers may read differently is returned as V(null).
options:
  _input:
    description: The text of the file, for example C(slurp)'s content after C(b64decode).
    type: str
    required: true
  include_secrets:
    description: Also return the values of secret keys.
    type: bool
    default: false
  storage_only:
    description: Return only the keys that decide where files are stored (C(USE_S3), C(AWS_STORAGE_BUCKET_NAME), ...).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read .env
  ansible.builtin.slurp:
    src: /opt/bookwyrm/.env
  register: env_file

- name: The instance's domain
  ansible.builtin.debug:
    msg: "{{ (env_file.content | b64decode | bookwyrm.s3.dotenv_values).DOMAIN }}"
"""

RETURN = r"""
_value:
  description: Key to value.
  type: dict
"""

from ansible_collections.bookwyrm.s3.plugins.module_utils._dotenv import DotEnv
from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import STORAGE_KEYS


def dotenv_values(text, include_secrets=False, storage_only=False):
    if not isinstance(text, str):
        from ansible.errors import AnsibleFilterError  # controller-only import, only on this path

        raise AnsibleFilterError("dotenv_values expects the text of a .env file, got %s" % type(text).__name__)
    return DotEnv(text).values(include_secrets, STORAGE_KEYS if storage_only else None)


class FilterModule(object):
    def filters(self):
        return {"dotenv_values": dotenv_values}
