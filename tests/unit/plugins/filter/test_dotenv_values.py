"""The dotenv_values filter."""

from ansible_collections.bookwyrm.s3.plugins.filter.dotenv_values import dotenv_values

ENV = """# BookWyrm
DOMAIN=books.example.com
export USE_S3=true
AWS_STORAGE_BUCKET_NAME='media bucket'
AWS_SECRET_ACCESS_KEY=very-secret
POSTGRES_PASSWORD=pw
DOMAIN=books.example.org
"""


def test_values_as_bash_and_compose_read_them():
    values = dotenv_values(ENV)
    assert values["DOMAIN"] == "books.example.org"  # the last assignment wins
    assert values["USE_S3"] == "true"
    assert values["AWS_STORAGE_BUCKET_NAME"] == "media bucket"


def test_secrets_left_out_unless_asked():
    assert "AWS_SECRET_ACCESS_KEY" not in dotenv_values(ENV)
    assert "POSTGRES_PASSWORD" not in dotenv_values(ENV)
    assert dotenv_values(ENV, include_secrets=True)["AWS_SECRET_ACCESS_KEY"] == "very-secret"  # noqa: S105


def test_storage_only():
    assert dotenv_values(ENV, storage_only=True) == {"USE_S3": "true", "AWS_STORAGE_BUCKET_NAME": "media bucket"}
