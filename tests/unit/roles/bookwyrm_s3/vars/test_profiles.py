"""Every provider profile (roles/bookwyrm_s3/vars/profiles/) rendered through the role, checked
against what each provider documents: API endpoint, public URL, ACLs, public access, CORS,
addressing. Also: the argument spec's choices and the README's table follow the profiles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_DIR = Path(__file__).resolve().parents[5]
ROLE = REPO_DIR / "roles" / "bookwyrm_s3"
PROFILES = sorted(p.stem for p in (ROLE / "vars" / "profiles").glob("*.yml"))
BUCKET = "books-media"

# provider -> (inventory variables, what the provider documents)
DOCUMENTED = {
    "aws": (
        {"bookwyrm_s3_region": "eu-west-1"},
        # virtual-hosted URL on the regional endpoint; new buckets have ACLs disabled (policy instead)
        {"AWS_S3_ENDPOINT_URL": "", "AWS_S3_CUSTOM_DOMAIN": f"{BUCKET}.s3.eu-west-1.amazonaws.com",
         "AWS_DEFAULT_ACL": "", "public_access": "policy", "cors": "bucket", "addressing": "virtual", "pab": True},
    ),
    "minio": (
        {"bookwyrm_s3_endpoint_url": "https://minio.example.com"},
        # object ACLs accepted and ignored; CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN); path style
        {"AWS_S3_ENDPOINT_URL": "https://minio.example.com", "AWS_S3_CUSTOM_DOMAIN": f"minio.example.com/{BUCKET}",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "policy", "cors": "skip", "addressing": "path"},
    ),
    "seaweedfs": (
        {"bookwyrm_s3_endpoint_url": "https://s3.example.com"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.example.com", "AWS_S3_CUSTOM_DOMAIN": f"s3.example.com/{BUCKET}",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "policy", "cors": "bucket", "addressing": "path"},
    ),
    "ceph": (
        {"bookwyrm_s3_endpoint_url": "https://rgw.example.com"},
        {"AWS_S3_ENDPOINT_URL": "https://rgw.example.com", "AWS_S3_CUSTOM_DOMAIN": f"rgw.example.com/{BUCKET}",
         "AWS_DEFAULT_ACL": "public-read", "cors": "bucket", "addressing": "path"},
    ),
    "scaleway": (
        {"bookwyrm_s3_region": "fr-par"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.fr-par.scw.cloud", "AWS_S3_CUSTOM_DOMAIN": f"{BUCKET}.s3.fr-par.scw.cloud",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "acl", "cors": "bucket", "addressing": "virtual"},
    ),
    "digitalocean": (
        {"bookwyrm_s3_region": "ams3"},
        {"AWS_S3_ENDPOINT_URL": "https://ams3.digitaloceanspaces.com",
         "AWS_S3_CUSTOM_DOMAIN": f"{BUCKET}.ams3.digitaloceanspaces.com",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "acl", "cors": "bucket", "addressing": "virtual"},
    ),
    "linode": (
        {"bookwyrm_s3_region": "us-east-1"},
        # the API on the cluster endpoint, the files on the bucket's own host (no domain switch)
        {"AWS_S3_ENDPOINT_URL": "https://us-east-1.linodeobjects.com",
         "AWS_S3_CUSTOM_DOMAIN": f"{BUCKET}.us-east-1.linodeobjects.com",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "acl", "cors": "bucket", "addressing": "virtual"},
    ),
    "backblaze": (
        {"bookwyrm_s3_region": "us-west-004"},
        # B2 rejects ACLs: no AWS_DEFAULT_ACL, the bucket is made public in B2's settings
        {"AWS_S3_ENDPOINT_URL": "https://s3.us-west-004.backblazeb2.com",
         "AWS_S3_CUSTOM_DOMAIN": f"{BUCKET}.s3.us-west-004.backblazeb2.com",
         "AWS_DEFAULT_ACL": "", "public_access": "none", "cors": "bucket", "addressing": "virtual"},
    ),
    "cloudflare": (
        {"bookwyrm_s3_endpoint_url": "https://0123abcd.r2.cloudflarestorage.com",
         "bookwyrm_s3_custom_domain": "media.example.com"},
        # the account's endpoint and a public domain must be given; R2 has no ACLs
        {"AWS_S3_ENDPOINT_URL": "https://0123abcd.r2.cloudflarestorage.com",
         "AWS_S3_CUSTOM_DOMAIN": "media.example.com", "AWS_DEFAULT_ACL": "", "public_access": "none",
         "cors": "bucket", "endpoint_required": True},
    ),
    "wasabi": (
        {"bookwyrm_s3_region": "eu-central-1"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.eu-central-1.wasabisys.com",
         "AWS_S3_CUSTOM_DOMAIN": f"s3.eu-central-1.wasabisys.com/{BUCKET}",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "policy", "cors": "bucket", "addressing": "path"},
    ),
    "generic": (
        {"bookwyrm_s3_endpoint_url": "https://objects.example.org", "bookwyrm_s3_custom_domain": "cdn.example.org"},
        {"AWS_S3_ENDPOINT_URL": "https://objects.example.org", "AWS_S3_CUSTOM_DOMAIN": "cdn.example.org",
         "AWS_DEFAULT_ACL": "public-read", "public_access": "policy", "cors": "bucket", "addressing": "auto"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, ansible_env):
    hosts = {
        name: {"bookwyrm_s3_provider": name, "bookwyrm_s3_bucket": BUCKET, **DOCUMENTED[name][0]}
        for name in PROFILES
        if name in DOCUMENTED
    }
    directory = tmp_path_factory.mktemp("profiles")
    inventory = directory / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    out = directory / "rendered"
    out.mkdir()
    env = dict(ansible_env, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            "-e",
            f"render_dir={out}",
            str(Path(__file__).with_name("render_profiles.yml")),
        ],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


def test_every_profile_is_checked_against_its_provider():
    assert sorted(DOCUMENTED) == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_profile_renders_what_the_provider_documents(rendered, name):
    got = rendered[name]
    env = got["env"]
    assert env["USE_S3"] == "true" and env["AWS_STORAGE_BUCKET_NAME"] == BUCKET
    assert env["AWS_S3_URL_PROTOCOL"] == "https:"
    for key, expected in DOCUMENTED[name][1].items():
        value = env[key] if key.startswith("AWS_") else got["manage_public_access_block" if key == "pab" else key]
        assert value == expected, f"{name}: {key} is {value!r}, the provider documents {expected!r}"
    assert got["manage_public_access_block"] is (name == "aws"), "the Public Access Block is AWS's alone"


def test_the_argument_spec_offers_exactly_the_profiles():
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    for entry_point in spec["argument_specs"].values():
        option = entry_point["options"].get("bookwyrm_s3_provider")
        if option:
            assert sorted(option["choices"]) == PROFILES


def test_the_readme_has_a_row_per_profile():
    readme = (REPO_DIR / "README.md").read_text()
    for name in PROFILES:
        profile = yaml.safe_load((ROLE / "vars" / "profiles" / f"{name}.yml").read_text())
        title = profile["__bookwyrm_s3_profile"]["title"]
        assert f"`provider: {name}`" in readme, f"README.md: no row for the profile {name} ({title})"


def test_profiles_have_every_field():
    fields = {"title", "endpoint_required", "endpoint", "custom_domain", "default_acl", "public_access", "cors"}
    fields |= {"addressing", "public_access_block"}
    for name in PROFILES:
        profile = yaml.safe_load((ROLE / "vars" / "profiles" / f"{name}.yml").read_text())["__bookwyrm_s3_profile"]
        assert set(profile) == fields, name
        assert profile["public_access"] in ("policy", "acl", "none") and profile["cors"] in ("bucket", "skip")
        assert profile["addressing"] in ("auto", "path", "virtual")
