"""The instance's own URL and the origins its pages load fonts from, as BookWyrm derives them:
http and localhost:PORT only when DOMAIN is localhost, https and the bare domain otherwise."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.bookwyrm.s3.plugins.filter.instance_url import cors_origins, instance_url


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"DOMAIN": "books.example.com"}, "https://books.example.com/"),
        ({"DOMAIN": "books.example.com", "PORT": "8000"}, "https://books.example.com/"),  # PORT only feeds a proxy
        ({"DOMAIN": "localhost", "PORT": "8102"}, "http://localhost:8102/"),
        ({"DOMAIN": "localhost"}, "http://localhost/"),  # PORT defaults to 80
        ({"DOMAIN": "localhost", "PORT": "80"}, "http://localhost/"),
        # BookWyrm has no USE_HTTPS: it is ignored either way
        ({"DOMAIN": "books.example.com", "USE_HTTPS": "false"}, "https://books.example.com/"),
        ({"DOMAIN": "localhost", "PORT": "8080", "USE_HTTPS": "true"}, "http://localhost:8080/"),
    ],
)
def test_instance_url(env, url):
    assert instance_url(env) == url


@pytest.mark.parametrize(
    ("env", "origins"),
    [
        ({"DOMAIN": "books.example.com"}, ["https://books.example.com", "https://www.books.example.com"]),
        ({"DOMAIN": "www.example.com"}, ["https://www.example.com"]),
        ({"DOMAIN": "localhost", "PORT": "8102"}, ["http://localhost:8102"]),
        ({"DOMAIN": "localhost"}, ["http://localhost"]),
    ],
)
def test_cors_origins(env, origins):
    assert cors_origins(env) == origins


@pytest.mark.parametrize("env", [{}, {"DOMAIN": ""}, {"DOMAIN": "localhost", "PORT": "eighty"}])
def test_unusable_settings_are_refused_with_the_reason(env):
    with pytest.raises(AnsibleFilterError, match=r"DOMAIN|PORT"):
        instance_url(env)
