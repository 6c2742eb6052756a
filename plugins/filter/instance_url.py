# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: instance_url
short_description: A BookWyrm instance's own URL, derived from its .env as BookWyrm does
version_added: 0.1.0
author:
  - bookwyrm.s3 contributors (@bookwyrm-s3)
description:
  - Takes the values of a BookWyrm C(.env) (for example from P(bookwyrm.s3.dotenv_values#filter))
    and returns the URL the instance serves its pages on, ending in C(/).
  - As BookWyrm's settings decide it, by C(DOMAIN) alone; BookWyrm has no C(USE_HTTPS) setting.
    With C(DOMAIN=localhost) the instance is C(http://localhost:PORT/) (C(PORT) defaults to 80,
    which is left out of the URL); any other domain is C(https://DOMAIN/), whatever C(PORT) says
    (it then only feeds a reverse proxy).
options:
  _input:
    description: The C(.env) keys and values.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Where the instance answers
  ansible.builtin.debug:
    msg: "{{ env_text | bookwyrm.s3.dotenv_values | bookwyrm.s3.instance_url }}"
"""

RETURN = r"""
_value:
  description: The instance's URL, for example C(https://books.example.com/) or C(http://localhost:8080/).
  type: str
"""

LOCALHOST = "localhost"


def _fail(msg):
    from ansible.errors import AnsibleFilterError  # controller-only import, only on this path

    raise AnsibleFilterError(msg)


def _origin(env):
    """scheme://host[:port] of the instance, as browsers send it in Origin headers."""
    if not isinstance(env, dict):
        _fail("instance_url expects the .env values as a dictionary, got %s" % type(env).__name__)
    domain = (env.get("DOMAIN") or "").strip()
    if not domain:
        _fail("DOMAIN is not set in .env: BookWyrm builds every URL from it.")
    if domain != LOCALHOST:
        return "https://%s" % domain
    port = (env.get("PORT") or "80").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        _fail("PORT=%r in .env is not a port number (BookWyrm reads it as an integer)." % port)
    return "http://localhost" if int(port) == 80 else "http://localhost:%d" % int(port)


def instance_url(env):
    return _origin(env) + "/"


def cors_origins(env):
    """The origins BookWyrm's pages are loaded from: the ones the bucket's CORS rules must allow."""
    origin = _origin(env)
    if origin.startswith("http://"):
        return [origin]
    domain = origin[len("https://") :]
    return [origin] if domain.startswith("www.") else [origin, "https://www.%s" % domain]


class FilterModule(object):
    def filters(self):
        return {"instance_url": instance_url, "cors_origins": cors_origins}
