#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dotenv

short_description: Set and remove keys in a BookWyrm C(.env) file, keeping everything else

version_added: 0.1.0

description:
  - Sets and removes variables in a C(.env) file such as BookWyrm's, which is read both by
    C(bash) (C(set -a; . ./.env)) and by docker compose (C(env_file) and project interpolation).
  - Every byte the module does not have to change is kept - comments, blank lines, order,
    unknown keys, C(export) prefixes, CRLF line endings, a missing final newline, lines it
    cannot parse.
  - Values are literal strings. They are written so that bash and docker compose v2 read the
    same string - plain (C(KEY=value)) when the value has only C([A-Za-z0-9_./:@%+,=-]),
    C(KEY=) when empty, C(KEY='value') when it has no single quote and no trailing backslash,
    C(KEY="value") when it has a single quote but none of C($), backtick, C("), C(\).
    A value that fits none of these (a newline, a carriage return, a NUL, a single quote
    together with C($), backtick, C(") or C(\), a trailing backslash) makes the task fail with
    a message naming the key (never the value).
  - No interpolation is done or written - a value C(${OTHER}) is stored as the literal text.
  - An existing assignment is left untouched when bash and compose already read it as the
    wanted value, whatever its quoting; otherwise it is rewritten in the form above, keeping
    its C(export) prefix, its position and a trailing comment (a space, then C(#)).
  - Duplicate keys - bash and compose use the last assignment. Setting a key updates its
    last assignment in place and removes the earlier ones (so that no stale value is left for
    tools that read the first match). Removing a key removes every assignment of it.
  - Only assignments written C(KEY=...) (optionally indented or prefixed by C(export)) are
    managed. Lines such as C(KEY = value) (which bash cannot read) are kept as they are; a
    later C(KEY=...) added by the module takes precedence for both readers.

author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)

extends_documentation_fragment:
  - bookwyrm.s3.attributes
  - action_common_attributes.files

attributes:
  diff_mode:
    details:
      - The values of secret keys are replaced by C(<hidden>) on every line of the diff, changed
        or not (C(<hidden, changed>) where a secret value changes). See O(secret_keys).
  idempotent:
    details:
      - The second run does not modify the file.
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none

options:
  path:
    description:
      - The C(.env) file, on the managed node.
      - It must exist unless O(create=true). A symbolic link is followed and its target edited.
    type: path
    required: true
  set:
    description:
      - Keys to set and their values, for values that are not secret.
      - Values are converted to strings (numbers included). Booleans and nulls are refused -
        write booleans as the exact strings the application expects (V('true'), not V(true)),
        and use V('') for an empty value or O(unset) to remove a key.
      - These values appear in the task's C(invocation) at C(-vvv) and may be logged. Put
        credentials in O(secrets) instead. A warning is emitted when a key here looks secret
        (see O(secret_keys)).
      - Keys must match C(^[A-Za-z_][A-Za-z0-9_]*$).
    type: dict
    default: {}
  secrets:
    description:
      - Keys to set and their values, for values that are secret (credentials, keys, passwords).
      - Same rules as O(set). A key cannot be in both.
      - This option is C(no_log) - its values never appear in the task's output or logs at
        any verbosity, and they are hidden in diffs. Keys changed are still named in
        RV(changed_keys).
      - As with any C(no_log) value, Ansible hides every occurrence of these values in the
        task result, so a very short secret (such as V(1)) can mask unrelated text.
    type: dict
    default: {}
  unset:
    description:
      - Keys to remove. Every assignment of each key is removed; a key that is absent is not
        an error.
      - A key cannot be both set and unset.
    type: list
    elements: str
    default: []
  secret_keys:
    description:
      - More keys whose values are hidden in diffs, besides the keys of O(secrets) and the keys
        whose name contains C(SECRET), C(PASSWORD), C(PASSWD), C(KEY), C(TOKEN) or C(CREDENTIAL)
        (in any case).
    type: list
    elements: str
    default: []
  backup:
    description:
      - Make a copy of the file, with mode C(0600), before changing it, named like the
        backups of M(ansible.builtin.copy) (C(PATH.PID.YYYY-MM-DD@HH:MM:SS~)), next to the file.
      - Nothing is copied when the file does not change, or did not exist.
    type: bool
    default: false
  mode:
    description:
      - Permissions of the file, as for M(ansible.builtin.file) (octal such as V('0600') - quote
        it - or symbolic such as V(u=rw,g=,o=)).
      - When not given, an existing file keeps its mode (and its owner and group in every
        case), and a file created by the module gets C(0600). An existing file readable by
        everyone is left so but triggers a warning; give V('0600') to tighten it.
    type: raw
  create:
    description:
      - Create the file (mode C(0600), or O(mode)) when it does not exist. The directory must
        exist.
      - When V(false), a missing file fails the task.
    type: bool
    default: false

notes:
  - The module never returns values, only key names. Use O(secrets) for credentials - values
    given in O(set) are shown in the module invocation at C(-vvv).
  - A file with CRLF line endings is kept so, and new lines get CRLF too, but bash reads the
    carriage return as part of unquoted values. BookWyrm's C(.env) should use LF.
  - docker compose v1 (the Python C(docker-compose)) does not remove quotes from C(env_file)
    values. Values with only the plain characters listed above are written unquoted and read
    alike by every reader.

seealso:
  - name: BookWyrm external storage documentation
    description: The C(.env) keys that switch BookWyrm to S3.
    link: https://docs.joinbookwyrm.com/external-storage.html
  - module: ansible.builtin.lineinfile
"""

EXAMPLES = r"""
- name: Switch BookWyrm to S3
  bookwyrm.s3.dotenv:
    path: /opt/bookwyrm/.env
    set:
      USE_S3: "true"
      AWS_STORAGE_BUCKET_NAME: bookwyrm-media
      AWS_S3_CUSTOM_DOMAIN: media.example.net
      AWS_S3_ENDPOINT_URL: https://s3.example.net
      AWS_S3_REGION_NAME: ""
      AWS_DEFAULT_ACL: ""
    secrets:
      AWS_ACCESS_KEY_ID: "{{ vault_s3_access_key }}"
      AWS_SECRET_ACCESS_KEY: "{{ vault_s3_secret_key }}"
    backup: true

- name: Go back to local storage
  bookwyrm.s3.dotenv:
    path: /opt/bookwyrm/.env
    set:
      USE_S3: "false"
    unset:
      - AWS_S3_CUSTOM_DOMAIN

- name: Create a .env for a test instance, readable by its owner only
  bookwyrm.s3.dotenv:
    path: /srv/test/.env
    create: true
    mode: "0600"
    set:
      DOMAIN: localhost
    secret_keys:
      - EMAIL_HOST_USER
"""

RETURN = r"""
changed_keys:
  description:
    - The keys whose assignments were added, rewritten or removed (or would be, in check mode),
      set keys first, in the order given. Values are never returned.
  returned: always
  type: list
  elements: str
  sample: [USE_S3, AWS_SECRET_ACCESS_KEY]
backup_file:
  description: The backup copy made because of O(backup=true).
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /opt/bookwyrm/.env.2811.2026-07-14@09:21:33~
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bookwyrm.s3.plugins.module_utils._dotenv import (
    DotEnv,
    DotEnvError,
    is_secret_key,
    masked_diff,
    validate_key,
)
from ansible_collections.bookwyrm.s3.plugins.module_utils._file_write import FileWriteError, replace_file


class DotEnvManager(object):
    """Computes the new file, then (outside check mode) writes it."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = os.path.realpath(self.params["path"])
        self.result = dict(changed=False, changed_keys=[])

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def desired_values(self):
        """The merged set/secrets dict as strings, validated."""
        values = {}
        for option in ("set", "secrets"):
            for key, value in (self.params[option] or {}).items():
                try:
                    validate_key(key)
                except DotEnvError as exc:
                    self.fail("%s: %s" % (option, exc))
                if key in values:
                    self.fail("%s is in both set and secrets; give it in one of them" % key)
                values[key] = self.as_string(option, key, value)
        for key in self.params["unset"]:
            try:
                validate_key(key)
            except DotEnvError as exc:
                self.fail("unset: %s" % exc)
            if key in values:
                self.fail("%s is both set and unset; give it in one of them" % key)
        return values

    def as_string(self, option, key, value):
        if isinstance(value, bool):
            self.fail(
                "%s.%s is a boolean: give it as the exact string the application expects, "
                "quoted in YAML (for example '%s'), or apply the string filter to a templated value"
                % (option, key, "true" if value else "false")
            )
        if value is None:
            self.fail("%s.%s is null: use '' for an empty value, or list the key in unset to remove it" % (option, key))
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            self.fail("%s.%s must be a string, not a %s" % (option, key, type(value).__name__))
        return value

    def run(self):
        values = self.desired_values()
        secret_keys = set(self.params["secret_keys"]) | set(self.params["secrets"] or {})
        for key in self.params["set"] or {}:
            if is_secret_key(key, self.params["secret_keys"]):
                self.module.warn(
                    "%s looks secret but was given in set, whose values appear in the module invocation "
                    "(-vvv) and in logs; give it in secrets instead" % key
                )

        exists = os.path.lexists(self.path)
        if exists and not os.path.isfile(self.path):
            self.fail("%s is not a regular file" % self.params["path"])
        if not exists:
            if not self.params["create"]:
                self.fail("%s does not exist; create it first or set create=true" % self.params["path"])
            if not os.path.isdir(os.path.dirname(self.path) or "."):
                self.fail("the directory of %s does not exist" % self.params["path"])

        data = b""
        if exists:
            try:
                with open(self.path, "rb") as handle:
                    data = handle.read()
            except (IOError, OSError) as exc:
                self.fail("cannot read %s: %s" % (self.params["path"], to_native(exc.strerror or exc)))
        before = DotEnv.from_bytes(data) if exists else None
        after = DotEnv.from_bytes(data)

        changed_keys = []
        try:
            for key, value in values.items():
                if after.set(key, value):
                    changed_keys.append(key)
            for key in self.params["unset"]:
                if after.unset(key) and key not in changed_keys:
                    changed_keys.append(key)
        except DotEnvError as exc:
            self.fail(str(exc))
        self.result["changed_keys"] = changed_keys

        new_data = after.to_bytes()
        content_changed = not exists or new_data != data
        diffs = []
        if self.module._diff:
            diffs.append(masked_diff(before, after, secret_keys, path=self.params["path"]))

        if content_changed and not self.module.check_mode:
            if self.params["backup"] and exists:
                self.result["backup_file"] = self.backup(data)
            self.write(new_data, exists)

        mode = self.params["mode"]
        mode_changed = False
        if mode is not None and (exists or not self.module.check_mode):
            mode_diff = {"before": {}, "after": {}}
            mode_changed = self.module.set_mode_if_different(self.path, mode, False, diff=mode_diff)
            if mode_changed and self.module._diff:
                diffs.append(mode_diff)
        elif mode is None and exists:
            current = os.stat(self.path).st_mode
            if current & 0o004:
                self.module.warn(
                    "%s is readable by every user (mode %04o) and holds credentials; set mode: '0600'"
                    % (self.params["path"], current & 0o7777)
                )

        self.result["changed"] = content_changed or mode_changed
        if diffs:
            self.result["diff"] = diffs
        self.module.exit_json(**self.result)

    def backup(self, data):
        """A 0600 copy of the current file (owner, group and times kept where allowed)."""
        stat = os.stat(self.path)
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(time.time()))
        dest = "%s.%s.%s" % (self.path, os.getpid(), stamp)
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(dest, 0o600)
            try:
                os.chown(dest, stat.st_uid, stat.st_gid)
            except OSError:
                pass  # not root: the backup belongs to the user running the module
            os.utime(dest, (stat.st_atime, stat.st_mtime))
        except (IOError, OSError) as exc:
            self.fail("cannot write the backup %s: %s" % (dest, to_native(exc.strerror or exc)))
        return dest

    def write(self, new_data, exists):
        try:
            replace_file(self.module.atomic_move, self.path, new_data, exists, name=self.params["path"])
        except FileWriteError as exc:
            self.fail(exc.msg)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            set=dict(type="dict", default={}),
            secrets=dict(type="dict", default={}, no_log=True),
            unset=dict(type="list", elements="str", default=[]),
            secret_keys=dict(type="list", elements="str", default=[], no_log=False),
            backup=dict(type="bool", default=False),
            mode=dict(type="raw"),
            create=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    DotEnvManager(module).run()


if __name__ == "__main__":
    main()
