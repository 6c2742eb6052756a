"""playbooks/migrate.yml on an instance run by the legacy docker-compose v1 (Debian's 1.29),
which many BookWyrm admins still have: detected, rolling restart included, rerun unchanged."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bookwyrm_testbed as bed
import pytest

pytestmark = pytest.mark.testbed

NAME, PORT, BUCKET = "compose-v1", 8131, "compose-v1-media"
REPO_DIR = Path(__file__).resolve().parents[2]


def compose_v1():
    path = shutil.which("docker-compose", path="/usr/bin:/usr/local/bin")
    if path:
        out = subprocess.run([path, "version", "--short"], capture_output=True, text=True, check=False).stdout
        if out.startswith("1."):
            return path
    subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], capture_output=True, check=False,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))  # fmt: skip
    if not os.path.exists("/usr/bin/docker-compose"):
        pytest.skip("docker-compose v1 is not installable here")
    return "/usr/bin/docker-compose"


@pytest.fixture(scope="module")
def v1_instance(s3_server):
    v1 = compose_v1()
    instance = bed.create_instance(NAME, http_port=PORT)
    subprocess.run([v1, "up", "-d"], cwd=instance.directory, check=True, capture_output=True, timeout=600)
    instance.attach_s3()
    bed.wait_until(lambda: bed.http_get(instance.url)[0] == 200, 240, "the v1 instance to serve")
    subprocess.run([v1, "exec", "-T", "web", "python", "manage.py", "seed_media", "--covers", "8", "--avatars", "2",
                    "--previews", "2"], cwd=instance.directory, check=True, capture_output=True)  # fmt: skip
    yield v1, instance
    instance.detach_s3()
    subprocess.run([v1, "down", "-v", "--timeout", "5"], cwd=instance.directory, capture_output=True, check=False)
    bed.destroy_instance(NAME)


def run_migrate(tmp_path, s3_server, instance, ansible_env):
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"bookwyrm": {"hosts": {NAME: {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "bookwyrm_s3_instance_dir": str(instance.directory),
        "bookwyrm_s3_compose_command": "v1",
        "bookwyrm_s3_provider": "seaweedfs",
        "bookwyrm_s3_bucket": BUCKET,
        "bookwyrm_s3_endpoint_url": s3_server.endpoint_url,
        "bookwyrm_s3_region": s3_server.region,
        "bookwyrm_s3_instance_url": instance.url,
        "bookwyrm_s3_cors_extra_origins": [instance.url.rstrip("/")],
        "bookwyrm_s3_report_path": str(tmp_path / "report.json"),
    }}}}))  # fmt: skip
    env = dict(ansible_env, BOOKWYRM_S3_ACCESS_KEY=s3_server.access_key, BOOKWYRM_S3_SECRET_KEY=s3_server.secret_key)
    env["PATH"] = "/usr/bin:" + env.get("PATH", "")  # Debian's v1, not a v2 binary named docker-compose
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
         str(REPO_DIR / "playbooks" / "migrate.yml")],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-8000:]
    assert s3_server.secret_key not in result.stdout + result.stderr
    return result.stdout


def test_migrate_with_compose_v1_then_nothing_to_do(v1_instance, s3_server, ansible_env, tmp_path):
    v1, instance = v1_instance
    first = run_migrate(tmp_path, s3_server, instance, ansible_env)
    recap = next(line for line in first.splitlines() if line.startswith(NAME) and "ok=" in line)
    assert "changed=0" not in recap
    html = instance.page()
    assert f'content="{s3_server.endpoint_url}/{BUCKET}/static/"' in html
    names = subprocess.run([v1, "ps", "--services", "--filter", "status=running"], cwd=instance.directory,
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert "web" in names
    second = run_migrate(tmp_path, s3_server, instance, ansible_env)
    assert "changed=0" in next(line for line in second.splitlines() if line.startswith(NAME) and "ok=" in line)
