# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the role's phases ask of a BookWyrm instance, whatever the kind of install.

Two kinds sit behind one interface: a docker compose project (``_compose.py``,
``ComposeInstance``) and a dockerless install run by systemd units (``_systemd.py``,
``SystemdInstance``). The module ``instance`` calls these methods and never builds a
command line itself.

Each method returns plain fields for the module's result; failures raise ``InstanceError``
(with what to do), which the module reports once in ``main()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from urllib.error import HTTPError

from ansible_collections.bookwyrm.s3.plugins.module_utils._dotenv import DotEnv, DotEnvError

# The .env keys that decide where files are served from: a restart is needed when the
# running processes were started with other values than .env holds now.
STORAGE_KEYS = (
    "USE_S3",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_REGION_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_CUSTOM_DOMAIN",
    "AWS_S3_URL_PROTOCOL",
    "AWS_DEFAULT_ACL",
    "USE_S3_FOR_EXPORTS",
    "EXPORTS_STORAGE_BUCKET_NAME",
    "CSP_ADDITIONAL_HOSTS",
)
UNKNOWN = object()

# Run by `manage.py shell -c`: deletes BookWyrm's cached template fragments
# ({% cache %} keys, which keep the storage URLs they were rendered with: the landing page's
# book list for an hour, the about page's for a week) and nothing else. The same redis holds
# the activity streams and the sessions, which a cache.clear() (FLUSHDB) would wipe; upstream
# has no management command for it. Prints the count.
FRAGMENT_CACHE_CODE = """
from django.conf import settings
from django.core.cache import caches
from django.core.cache.utils import make_template_fragment_key

alias = 'template_fragments' if 'template_fragments' in settings.CACHES else 'default'
store = caches[alias]
count = None
if hasattr(store, 'delete_pattern'):  # django-redis
    count = store.delete_pattern('template.cache.*')
elif hasattr(getattr(store, '_cache', None), 'get_client'):  # Django's RedisCache
    client = store._cache.get_client(write=True)
    keys = list(client.scan_iter(match=store.make_key('template.cache.*'), count=1000))
    count = client.delete(*keys) if keys else 0
if count is None:  # another backend: the fragments BookWyrm caches by name, in every language
    codes = [code for code, _name in getattr(settings, 'LANGUAGES', [])] or [settings.LANGUAGE_CODE]
    keys = [make_template_fragment_key(name, [code]) for name in ('landing', 'about_page_superlatives')
            for code in codes]
    count = sum(1 for key in keys if store.delete(key))
print('fragments-cleared=%d' % count)
"""

# BookWyrm's nginx caches anonymous pages (proxy_cache, a minute): the files under each
# proxy_cache_path of the running configuration. nginx takes a missing cache file for a miss.
# Run with sh in the proxy's context; prints "DIR COUNT" per cache directory.
PROXY_CACHE_SCRIPT = r"""
command -v nginx >/dev/null 2>&1 || exit 0
nginx -T 2>/dev/null | sed -n 's/^[[:space:]]*proxy_cache_path[[:space:]]\{1,\}\([^[:space:];]\{1,\}\).*/\1/p' |
  sort -u |
while read -r dir; do
  [ -d "$dir" ] || continue
  echo "$dir $(find "$dir" -type f | wc -l)"
  find "$dir" -type f -delete
done
"""


class InstanceError(Exception):
    """A step on the instance failed; the message says what to check."""

    def __init__(self, msg, **details):
        super(InstanceError, self).__init__(msg)
        self.msg = msg
        self.details = details


def http_status(url, timeout=5, method="GET"):
    """The HTTP status ``url`` answers ``method`` with; None when nothing answers."""
    # imported here: urls (and the cryptography it loads) cost 70 ms of every module that
    # imports this file (host_info, connector), and only a HEAD or health check needs it
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    try:
        return open_url(url, method=method, timeout=timeout).getcode()
    except HTTPError as err:
        return err.code
    except Exception:  # noqa: BLE001 - not answering (yet)
        return None


def storage_values(dotenv_text):
    """The STORAGE_KEYS a .env sets, as its readers see them (a value the two readers may read
    differently counts as unknown, which equals no running value: a restart)."""
    env = DotEnv(dotenv_text)
    values = {}
    for key in STORAGE_KEYS:
        try:
            value = env.get(key)
        except DotEnvError:
            value = UNKNOWN
        if value is not None:
            values[key] = value
    return values


def parse_fragment_count(output):
    match = re.search(r"^fragments-cleared=(\d+)$", output, re.MULTILINE)
    if not match:
        raise InstanceError("manage.py shell did not report the cleared fragments: %s" % output.strip()[-400:])
    return int(match.group(1))


def parse_proxy_cache(output):
    """PROXY_CACHE_SCRIPT's lines as {directory: pages cleared}."""
    cleared = {}
    for line in output.splitlines():
        directory, _sep, count = line.strip().rpartition(" ")
        if directory and count.isdigit():
            cleared[directory] = int(count)
    return cleared


class Instance(object):
    """The interface every kind of install implements (see module docstring)."""

    kind = None

    def __init__(self, run_command, instance_dir, sleep=time.sleep, clock=time.monotonic):
        self.run_command = run_command  # AnsibleModule.run_command's signature
        self.dir = instance_dir
        self.sleep = sleep  # sleep and clock are injected so that unit tests never wait
        self.clock = clock
        self.warnings = []

    def stale_processes(self):
        """What still runs with other storage settings than the .env in place (names of
        services or units); empty when nothing needs a restart."""
        raise NotImplementedError

    def collect_static(self):
        """compile_themes, then collectstatic, in ONE process environment (the compiled theme
        CSS lives in the app tree of the process that compiled it). Returns dict(output=[...])."""
        raise NotImplementedError

    def rolling_restart(self, health_timeout):
        """Pick up the new .env with no failed request: web first (new before old goes), then
        the background services. Returns dict(recreated=[...], retired=[...], ...)."""
        raise NotImplementedError

    def restore(self, health_timeout):
        """After a failed cutover: every service back on the .env now in place, as fast as safe."""
        raise NotImplementedError

    def manage_shell(self, code):
        """`python manage.py shell -c CODE`, as the instance runs it; its output."""
        raise NotImplementedError

    def proxy_shell(self, script):
        """SCRIPT run by sh where the instance's nginx runs; (rc, output). None: no proxy."""
        raise NotImplementedError

    def psql(self, sql, variables=None):
        """SQL on stdin to the instance's database, psql variables quoted by psql itself."""
        raise NotImplementedError

    def apply_proxy_config(self):
        """nginx checks its configuration (a snippet of ours changed), then takes it."""
        raise NotImplementedError

    def clear_caches(self):
        """Drop the two caches that keep the URLs a page was rendered with, after the storage
        settings changed: the template fragments and the proxy's cached pages."""
        result = dict(fragments_cleared=parse_fragment_count(self.manage_shell(FRAGMENT_CACHE_CODE)))
        answer = self.proxy_shell(PROXY_CACHE_SCRIPT)
        result["pages_cleared"] = parse_proxy_cache(answer[1]) if answer and answer[0] == 0 else {}
        return result
