"""The legacy connector patch: only self_connector rows, values passed to psql as variables."""

import json

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils import _compose, _connector


class FakeRunner:
    """Stands for AnsibleModule.run_command; answers compose detection and psql."""

    def __init__(self, rows, compose_v2=True):
        self.rows = rows
        self.compose_v2 = compose_v2
        self.calls = []

    def __call__(self, argv, cwd=None, data=None):
        self.calls.append((list(argv), cwd, data))
        if argv[-1] == "version":
            ok = (argv[:2] == ["docker", "compose"]) == self.compose_v2
            return (0 if ok else 1), "", ""
        if data and data.startswith("UPDATE"):
            url = argv[argv.index("-v", argv.index("psql") + 1) + 1].split("=", 1)[1]
            for row in self.rows:
                row["covers_url"] = url
            return 0, "", ""
        return 0, json.dumps(self.rows), ""


def connector(runner):
    return _connector.SelfConnector(_compose.ComposeInstance(runner, "/opt/bookwyrm", "bookwyrm"))


def test_no_self_connector_no_change():
    runner = FakeRunner([])
    before, after = connector(runner).plan("https://media.example.com/images/")
    assert before == after == []


def test_plan_and_apply_touch_only_self_connector_rows():
    rows = [{"id": 4, "identifier": "example.com", "covers_url": "https://example.com/images/"}]
    runner = FakeRunner(rows)
    conn = connector(runner)
    before, after = conn.plan("https://media.example.com/images/")
    assert before != after
    conn.apply("https://media.example.com/images/")
    sql = [data for _argv, _cwd, data in runner.calls if data]
    assert all("connector_file = 'self_connector'" in s for s in sql)
    assert not any("id = 1" in s or "id=1" in s for s in sql)
    assert conn.rows()[0]["covers_url"] == "https://media.example.com/images/"


def test_url_goes_as_psql_variable_not_sql():
    runner = FakeRunner([{"id": 4, "identifier": "x", "covers_url": "old"}])
    evil = "https://x/'; DROP TABLE bookwyrm_connector; --"
    connector(runner).apply(evil)
    argv, cwd, data = runner.calls[-1]
    assert evil not in data
    assert f"covers_url={evil}" in argv
    assert cwd == "/opt/bookwyrm"
    assert argv[:4] == ["docker", "compose", "--project-name", "bookwyrm"]


def test_compose_v1_fallback():
    runner = FakeRunner([], compose_v2=False)
    conn = connector(runner)
    conn.rows()
    assert runner.calls[-1][0][0] == "docker-compose"


def test_no_compose_is_a_clear_error():
    with pytest.raises(_compose.ComposeError, match="No docker compose found"):
        _compose.Compose(lambda argv, **kw: (127, "", "not found"), "/opt/bookwyrm")


def test_psql_failure_says_what_to_check():
    def runner(argv, cwd=None, data=None):
        if argv[-1] == "version":
            return 0, "", ""
        return 2, "", "could not connect to server"

    with pytest.raises(_connector.ConnectorError, match="docker compose ps"):
        _connector.SelfConnector(_compose.ComposeInstance(runner, "/opt/bookwyrm")).rows()


class FakeInstance:
    """An Instance of _instance.py (a dockerless install's manage.py dbshell)."""

    def __init__(self, rows, error=None):
        self.rows, self.error, self.calls = rows, error, []

    def psql(self, sql, variables=None):
        self.calls.append((sql, variables))
        if self.error:
            raise self.error
        return json.dumps(self.rows)


def test_dockerless_instance_runs_the_same_sql_through_its_psql():
    instance = FakeInstance([{"id": 4, "identifier": "x", "covers_url": "old"}])
    conn = _connector.SelfConnector(instance)
    conn.apply("https://media.example.com/images/")
    sql, variables = instance.calls[-1]
    assert "connector_file = 'self_connector'" in sql
    assert variables == {"covers_url": "https://media.example.com/images/"}


def test_dockerless_psql_failure_is_a_connector_error():
    from ansible_collections.bookwyrm.s3.plugins.module_utils._instance import InstanceError

    conn = _connector.SelfConnector(FakeInstance([], error=InstanceError("psql failed: no route")))
    with pytest.raises(_connector.ConnectorError, match=r"no route\. Is the instance running"):
        conn.rows()


@pytest.mark.parametrize("preference, argv", [("v2", ["docker", "compose"]), ("v1", ["docker-compose"])])
def test_compose_asked_for_is_used_without_a_probe(preference, argv):
    """The role passes the compose host_info found: the module does not start compose to ask again."""
    calls = []
    compose = _compose.Compose(
        lambda argv, **kw: calls.append(argv) or (0, "", ""), "/opt/bookwyrm", preference=preference
    )
    assert compose.argv == argv and calls == []
