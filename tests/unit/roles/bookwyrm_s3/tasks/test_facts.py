"""The role reads no setting BookWyrm lacks (USE_HTTPS is a stand-in invention) and derives the
instance's URL and CORS origins the way BookWyrm's settings do (plugins/filter/instance_url.py)."""

from pathlib import Path

ROLE = Path(__file__).resolve().parents[5] / "roles" / "bookwyrm_s3"


def test_no_use_https_anywhere_in_the_role():
    readers = [str(p.relative_to(ROLE)) for p in ROLE.rglob("*") if p.is_file() and "USE_HTTPS" in p.read_text()]
    assert not readers, f"USE_HTTPS is not a BookWyrm setting, yet {readers} read it"


def test_default_url_and_origins_come_from_bookwyrms_rule():
    facts = (ROLE / "tasks" / "facts.yml").read_text()  # facts.yml computes what preflight checks
    assert "bookwyrm.s3.instance_url" in facts
    cors = (ROLE / "tasks" / "cors.yml").read_text() + facts
    assert "bookwyrm.s3.cors_origins" in cors
