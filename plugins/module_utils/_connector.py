# -*- coding: utf-8 -*-
# Copyright: (c) 2026, bookwyrm.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The legacy self connector of BookWyrm instances from before v0.1.0.

Such instances keep a connector row with ``connector_file = 'self_connector'`` whose
``covers_url`` points at the instance's local ``/images/``. Only that row is ever touched:
connector id 1 is bookwyrm.social's remote connector on every current database, and
rewriting it would corrupt it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError

# psql reads the SQL on stdin so that :'covers_url' is quoted by psql itself (no injection).
SELECT_SQL = (
    "SELECT coalesce(json_agg(json_build_object('id', id, 'identifier', identifier, 'covers_url', covers_url) "
    "ORDER BY id), '[]') FROM bookwyrm_connector WHERE connector_file = 'self_connector';\n"
)
UPDATE_SQL = (
    "UPDATE bookwyrm_connector SET covers_url = :'covers_url' "
    "WHERE connector_file = 'self_connector' AND covers_url IS DISTINCT FROM :'covers_url';\n"
)


class ConnectorError(Exception):
    pass


class SelfConnector(object):
    """The self connector rows of an instance (an Instance of _instance.py: psql in the compose
    project's db container, or a dockerless install's ``manage.py dbshell``)."""

    def __init__(self, instance):
        self.instance = instance

    def _psql(self, sql, variables=None):
        try:
            return self.instance.psql(sql, variables)
        except InstanceError as exc:
            raise ConnectorError("%s. Is the instance running?" % exc.msg) from exc

    def rows(self):
        out = self._psql(SELECT_SQL).strip()
        return json.loads(out or "[]")

    def plan(self, covers_url):
        """(before, after): the self connector rows now and once covers_url is set."""
        before = self.rows()
        after = [dict(row, covers_url=covers_url) for row in before]
        return before, after

    def apply(self, covers_url):
        self._psql(UPDATE_SQL, {"covers_url": covers_url})
