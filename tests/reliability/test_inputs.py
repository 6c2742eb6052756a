"""Bad input (issue 5): each case fails clearly before anything changes, or is handled right."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import urllib.parse

import _harness as h
import bookwyrm_testbed as tb
import pytest

pytestmark = pytest.mark.testbed
GROUP = "bad input"
NAME, PORT = "rel-inputs", 8113
PROJ_DIR, PROJ_NAME, PROJ_PORT = "rel-proj-dir", "relproj", 8114
BUCKET, OWNED = "rel-inputs", "rel-inputs-owned"
BIG = 70 * 1024 * 1024  # over media_sync's 64 MiB multipart threshold

# Lines added to the instance's .env (which is then turned to CRLF): every form an admin may
# have written that bash and compose v2 both read. Each name maps to the lines of one form.
ENV_FORMS = {
    "CRLF line endings": [],
    "duplicate keys": ["AWS_S3_CUSTOM_DOMAIN=stale.example.net", "REL_DUP=first", "REL_DUP=second"],
    "export prefixes": ["export EMAIL=admin@localhost", "export AWS_S3_REGION_NAME="],
    "quoted values": ["REL_SQ='single quoted'", 'REL_DQ="double quoted"'],
    "values with $": ["REL_DOLLAR='pa$word$HOME'"],
    "values with spaces": ["REL_SPACES='two  spaces and more'"],
    "values with #": ["REL_HASH='a # not a comment'", "REL_COMMENT=plain # a trailing comment"],
    "values with quotes": ["REL_QUOTES_D='say \"hi\"'", 'REL_QUOTES_S="it\'s"'],
}

SPECIAL_NAMES = ["with space.png", "ünïcødé-日本.png", "a+b.png", "100%.png", "what?.png", "hash#1.png"]


def _weird_env(text: str) -> bytes:
    lines = text.splitlines()
    head = ["# reliability suite: forms an admin may have written"]
    for form in ENV_FORMS.values():
        head.extend(form)
    # the region key moves to its export form; everything else stays
    lines = [line for line in lines if not line.startswith("AWS_S3_REGION_NAME=")]
    return ("\r\n".join(head + lines) + "\r\n").encode()


def read_bash(path) -> dict:
    out = subprocess.run(
        ["env", "-i", "bash", "-c", 'set -a; . "$1"; env -0', "_", str(path)], capture_output=True, check=True
    ).stdout
    skip = {"PWD", "SHLVL", "_", "OLDPWD"}
    pairs = (item.split(b"=", 1) for item in out.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs if k.decode() not in skip}


def read_compose(path, workdir) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    compose = workdir / "compose.yml"
    compose.write_text(f"services:\n  x:\n    image: scratch\n    env_file: {json.dumps(str(path))}\n")
    out = subprocess.run(
        ["docker", "compose", "-f", str(compose), "--project-directory", str(workdir), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {k: (v if v is not None else "") for k, v in json.loads(out)["services"]["x"]["environment"].items()}


@pytest.fixture(scope="module")
def bed(s3_server, tmp_path_factory):
    for name in (NAME, PROJ_DIR):
        tb.destroy_instance(name)
    for bucket in (BUCKET, OWNED):
        h.drop_bucket(bucket)
    work = tmp_path_factory.mktemp("inputs")
    # the instance with an .env in every form and media names of every kind
    instance = tb.create_instance(NAME, PORT)
    instance.env_file.write_bytes(_weird_env(instance.env_file.read_text()))
    instance.up()
    tb.seed(instance, 5, 2, 2)
    media = h.volume_dir(instance)
    covers = media / "covers"
    (covers / "zero.png").write_bytes(b"")
    for index, name in enumerate(SPECIAL_NAMES):
        (covers / name).write_bytes(hashlib.sha256(name.encode()).digest() * (50 + index))
    with open(covers / "big.bin", "wb") as big:
        block = os.urandom(1024 * 1024)
        for _ in range(BIG // len(block)):
            big.write(block)
    (covers / "link-inside.png").symlink_to("testbed-cover-0001.png")
    (covers / "link-to-env").symlink_to(instance.env_file)
    (covers / "link-to-etc").symlink_to("/etc")
    (covers / "link-up").symlink_to("../..")
    (covers / "link-dangling").symlink_to("/nonexistent/cover.png")
    # an instance whose compose project is not its directory's name, with an empty media volume
    proj = tb.create_instance(PROJ_DIR, PROJ_PORT, project=PROJ_NAME)
    proj.up()
    # an https instance (only its .env is read before the checks fail) and a directory without .env
    https_dir = work / "https-instance"
    https_dir.mkdir()
    (https_dir / ".env").write_text("DOMAIN=books.example.net\nUSE_S3=false\nSECRET_KEY=x\n")
    (https_dir / ".env").chmod(0o600)
    no_env = work / "no-env"
    no_env.mkdir()
    server = tb.load_s3()
    client = server.client()
    client.create_bucket(Bucket=OWNED)
    client.put_object(Bucket=OWNED, Key="images/keep.png", Body=b"owned by the test bed's account")
    state = {
        "instance": instance,
        "proj": proj,
        "media": media,
        "https_dir": https_dir,
        "no_env": no_env,
        "work": work,
        "env_before": instance.env_file.read_bytes(),
        "bash_before": read_bash(instance.env_file),
        "compose_before": read_compose(instance.env_file, work / "compose-before"),
        "tree": h.snapshot_tree(media),
    }
    yield state
    for name in (NAME, PROJ_DIR):
        tb.destroy_instance(name)
    for bucket in (BUCKET, OWNED):
        h.drop_bucket(bucket)


# ----------------------------------------------------------------------------------------
# Clear errors before anything changes: one playbook run, one host per case
# ----------------------------------------------------------------------------------------

BAD = {
    # id: (what was given, vars overrides, credentials ("wrong", "unknown", "other"), expected msg regex)
    "wrong secret key": ("the right access key with another secret", {}, "wrong", r"secret key does not match"),
    "unknown access key": ("an access key the server does not know", {}, "unknown", r"access key is unknown"),
    "bucket name uppercase": ("bookwyrm_s3_bucket=Rel-Inputs", {"bookwyrm_s3_bucket": "Rel-Inputs"}, None, "not valid"),
    "bucket name too short": ("bookwyrm_s3_bucket=ab", {"bookwyrm_s3_bucket": "ab"}, None, "not valid"),
    "bucket name IP address": (
        "bookwyrm_s3_bucket=192.168.10.20",
        {"bookwyrm_s3_bucket": "192.168.10.20"},
        None,
        "not valid",
    ),
    "bucket name with ..": ("bookwyrm_s3_bucket=rel..inputs", {"bookwyrm_s3_bucket": "rel..inputs"}, None, "not valid"),
    "bucket owned by another account": (
        f"credentials of another account (may use other-account-* only), bucket {OWNED} of the bed's account",
        {"bookwyrm_s3_bucket": OWNED},
        "other",
        r"another account",
    ),
    "endpoint without scheme": (
        f"bookwyrm_s3_endpoint_url={tb.S3_HOSTNAME}:{tb.S3_PORT}",
        {"bookwyrm_s3_endpoint_url": f"{tb.S3_HOSTNAME}:{tb.S3_PORT}"},
        None,
        r"must be scheme://host",
    ),
    "http endpoint for an https instance": (
        f"DOMAIN=books.example.net (https), endpoint http://{tb.S3_HOSTNAME}:{tb.S3_PORT}",
        {"__dir": "https"},
        None,
        r"mixed content",
    ),
    "http custom domain for an https instance": (
        "DOMAIN=books.example.net, https endpoint, bookwyrm_s3_url_protocol=http:",
        {"__dir": "https", "bookwyrm_s3_endpoint_url": "https://s3.example.net", "bookwyrm_s3_url_protocol": "http:"},
        None,
        r"mixed content",
    ),
    "custom domain given with a scheme": (
        "bookwyrm_s3_custom_domain=https://cdn.example.net",
        {"bookwyrm_s3_custom_domain": "https://cdn.example.net"},
        None,
        r"no scheme",
    ),
    "region the provider rejects": (
        "bookwyrm_s3_region=eu-west-9 against an endpoint that, like AWS, only accepts us-east-1 "
        "(a loopback proxy in front of SeaweedFS answering AuthorizationHeaderMalformed, naming no region)",
        {"bookwyrm_s3_region": "eu-west-9", "__endpoint": "region-proxy"},
        None,
        r"region",
    ),
    ".env missing": (
        "bookwyrm_s3_instance_dir = a directory without .env",
        {"__dir": "no_env"},
        None,
        r"\.env not found",
    ),
    "instance directory named unlike the compose project": (
        f"directory {PROJ_DIR}, containers and volumes under project {PROJ_NAME} (COMPOSE_PROJECT_NAME in the "
        "environment of whoever started it, not in .env)",
        {"__dir": "proj"},
        None,
        r"volume .*not found.*COMPOSE_PROJECT_NAME",
    ),
}


def _host(bed, case_dir, key):
    _given, overrides, _creds, _regex = BAD[key]
    overrides = dict(overrides)
    target = overrides.pop("__dir", None)
    instance = bed["proj"] if target == "proj" else bed["instance"]
    hv = h.host_vars(instance, BUCKET, case_dir, **overrides)
    if target == "https":
        hv["bookwyrm_s3_instance_dir"] = str(bed["https_dir"])
    elif target == "no_env":
        hv["bookwyrm_s3_instance_dir"] = str(bed["no_env"])
    if overrides.pop("__endpoint", None):
        hv["bookwyrm_s3_endpoint_url"] = bed["region_proxy"].url
    slug = re.sub(r"\W+", "-", key)
    hv["bookwyrm_s3_report_path"] = str(case_dir / f"report-{slug}.json")
    return hv


@pytest.fixture(scope="module")
def bad_runs(bed):
    server = tb.load_s3()
    case_dir = h.ART_DIR / "bad-input"
    case_dir.mkdir(parents=True, exist_ok=True)
    creds = {
        "wrong": (server.access_key, server.secret_key[::-1] + "x"),
        "unknown": ("AKIARELIABILITY0000", server.secret_key),
        "other": ("other-account", server.secret_key[::-1]),
    }
    hosts, secrets = {}, {}
    client = server.client()
    owned_before = h.bucket_objects(OWNED)
    with h.LossyProxy(region=server.region) as proxy:
        bed["region_proxy"] = proxy
        for index, key in enumerate(BAD):
            host = f"bad{index:02d}"
            hosts[host] = _host(bed, case_dir, key)
            if BAD[key][2]:
                secrets[host] = creds[BAD[key][2]]
        runs = [h.run_play(case_dir, hosts, secrets=secrets, verbosity=v) for v in (0, 3)]
    state = {
        "hosts": {key: f"bad{index:02d}" for index, key in enumerate(BAD)},
        "runs": runs,
        "dir": case_dir,
        "region_rejections": proxy.stats.rejected_region,
        "bucket_created": h.bucket_exists(BUCKET),
        "owned_unchanged": h.bucket_objects(OWNED) == owned_before,
        "owned_policy": _policy(client, OWNED),
    }
    return state


def _policy(client, bucket):
    try:
        return client.get_bucket_policy(Bucket=bucket)["Policy"]
    except Exception:  # noqa: BLE001 - no policy
        return None


@pytest.mark.parametrize("key", list(BAD))
def test_bad_input_fails_before_any_change(bed, bad_runs, case, key):
    """A bad input case."""
    case.row.case = key
    given, _overrides, _creds, regex = BAD[key]
    host = bad_runs["hosts"][key]
    observed = []
    for number, run in enumerate(bad_runs["runs"]):
        assert not run.unreachable(host), f"{key}: the host went unreachable: {run.unreachable(host)}"
        failure = run.failure(host)
        assert failure, f"{key}: the run did not fail"
        assert failure["task"].startswith("Preflight"), failure
        assert re.search(regex, failure["msg"], re.IGNORECASE | re.DOTALL), failure["msg"]
        changed = run.changed_tasks(host)
        if number == 0:
            # On a fresh host the first run may make the collection's own boto3 venv (needed to
            # test credentials): not the instance's. The second run must change nothing at all.
            changed = [task for task in changed if not task.startswith("Python | boto3 in ")]
        assert not changed, changed
        observed.append(failure)
    assert bed["instance"].env_file.read_bytes() == bed["env_before"]
    assert (bed["https_dir"] / ".env").read_bytes().startswith(b"DOMAIN=books.example.net")
    assert not (bed["no_env"] / ".env").exists()
    assert not bad_runs["bucket_created"] and bad_runs["owned_unchanged"] and bad_runs["owned_policy"] is None
    if key == "region the provider rejects":
        assert bad_runs["region_rejections"] > 0
    lost = h.lost_files(bed["tree"], h.snapshot_tree(bed["media"]))
    case.row.files_lost = str(len(lost))
    assert not lost
    case.row.done = f"{given}; one playbook run with a host per case, at default verbosity and at -vvv"
    case.row.observed = (
        f"failed at '{observed[0]['task']}' with \"{observed[0]['msg'].strip()[:260]}\"; no task changed anything; "
        f".env files byte-identical; bucket {BUCKET} not created, {OWNED} untouched"
    )
    case.scan([bed["instance"].directory, bed["https_dir"], bed["proj"].directory], extra=[bad_runs["dir"]])


# ----------------------------------------------------------------------------------------
# Handled right: a full migration of the instance with the odd .env and media tree
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(bed, bad_runs):
    case_dir = h.ART_DIR / "inputs-migration"
    case_dir.mkdir(parents=True, exist_ok=True)
    hv = h.host_vars(bed["instance"], BUCKET, case_dir)
    run = h.run_play(case_dir, {NAME: hv})
    assert run.rc == 0, run.output[-4000:]
    after = bed["instance"].env_file.read_bytes()
    return {
        "run": run,
        "hv": hv,
        "dir": case_dir,
        "env_after": after,
        "bash_after": read_bash(bed["instance"].env_file),
        "compose_after": read_compose(bed["instance"].env_file, bed["work"] / "compose-after"),
        "objects": h.bucket_objects(BUCKET),
    }


STORAGE = {"USE_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_REGION_NAME"}
STORAGE |= {"AWS_S3_ENDPOINT_URL", "AWS_S3_CUSTOM_DOMAIN", "AWS_S3_URL_PROTOCOL", "AWS_DEFAULT_ACL"}
STORAGE |= {"CSP_ADDITIONAL_HOSTS"}  # the role adds the bucket's host to the existing ones


@pytest.mark.parametrize("form", list(ENV_FORMS))
def test_env_form_handled(bed, migrated, case, form):
    """An .env form."""
    case.row.case = f".env with {form}"
    before, after = bed["env_before"], migrated["env_after"]
    after_lines = after.split(b"\r\n")
    checks = []
    if form == "CRLF line endings":
        assert after.endswith(b"\r\n") and b"\n" not in after.replace(b"\r\n", b"")
        count = after.count(b"\r\n")
        checks.append(
            f"all {count} lines still end in CRLF, the new keys too (bash, unlike compose, keeps the CR in "
            "every value of such a file, before and after alike)"
        )
    for line in ENV_FORMS[form]:
        key = line.removeprefix("export ").split("=", 1)[0]
        if key in STORAGE:
            written = [raw for raw in after_lines if re.match(rb"(export )?" + key.encode() + rb"=", raw)]
            assert len(written) == 1, written
            if line.startswith("export "):
                assert written[0].startswith(b"export "), written
            checks.append(f"{key}: one line left, `{written[0].decode()[:60]}`")
        else:
            assert line.encode() in after_lines, f"{line!r} was changed"
            checks.append(f"`{line}` kept byte for byte")
    for reader in ("bash", "compose"):
        old, new = bed[f"{reader}_before"], migrated[f"{reader}_after"]
        changed = sorted(k for k in set(old) | set(new) if k not in STORAGE and old.get(k) != new.get(k))
        assert not changed, f"{reader} reads {changed} differently now"
    assert (
        migrated["bash_after"]["AWS_STORAGE_BUCKET_NAME"].rstrip("\r")
        == BUCKET
        == migrated["compose_after"]["AWS_STORAGE_BUCKET_NAME"]
    )
    # bash keeps the CR of a CRLF file in every value (the dotenv module documents it): compare without it
    assert (
        migrated["bash_after"]["AWS_S3_CUSTOM_DOMAIN"].rstrip("\r") == migrated["compose_after"]["AWS_S3_CUSTOM_DOMAIN"]
    )
    assert before != after
    case.row.done = f"instance's .env (CRLF) had {ENV_FORMS[form] or 'CRLF endings on every line'}; full migration"
    case.row.observed = (
        "; ".join(checks) + "; bash (`set -a; . .env`) and compose v2 (`config`) read every other key as before "
        "and the storage keys alike; instance serves from the bucket"
    )
    case.row.files_lost = "0"
    case.scan([bed["instance"].directory], extra=[migrated["dir"]])


def _anon(url, method="GET", headers=None):
    return tb.http_get(url, headers=headers) if method == "GET" else _request(url, method, headers)


def _request(url, method, headers):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310 - loopback test URL
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


MEDIA_CASES = ["empty-named files", "zero-byte files", "file names", "symlinks", "file over the multipart threshold"]


@pytest.mark.parametrize("kind", ["zero-byte files", "file names", "symlinks", "file over the multipart threshold"])
def test_media_tree_handled(bed, migrated, case, kind):
    """A media tree case."""
    case.row.case = kind
    objects, client = migrated["objects"], tb.load_s3().client()
    base = f"{tb.load_s3().endpoint_url}/{BUCKET}/images/covers/"
    covers = bed["media"] / "covers"
    output = migrated["run"].output
    if kind == "zero-byte files":
        assert objects["images/covers/zero.png"]["size"] == 0
        status, _, body = tb.http_get(base + "zero.png")
        assert status == 200 and body == b""
        case.row.done = "covers/zero.png of 0 bytes in the media volume; full migration"
        case.row.observed = "object images/covers/zero.png of 0 bytes; anonymous GET 200 with an empty body"
    elif kind == "file names":
        seen = []
        for name in SPECIAL_NAMES:
            key = "images/covers/" + name
            local = (covers / name).read_bytes()
            remote = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            status, _, body = tb.http_get(base + urllib.parse.quote(name))
            assert remote == local and status == 200 and body == local, name
            seen.append(name)
        case.row.done = "covers named " + ", ".join(f"`{n}`" for n in SPECIAL_NAMES) + "; full migration"
        case.row.observed = (
            "each under its exact key, same bytes via boto3 and via an anonymous GET of the %-quoted URL"
        )
    elif kind == "symlinks":
        inside = client.get_object(Bucket=BUCKET, Key="images/covers/link-inside.png")["Body"].read()
        assert inside == (covers / "testbed-cover-0001.png").read_bytes()
        outside = [k for k in objects if re.search(r"link-(to-env|to-etc|up|dangling)", k)]
        assert not outside, outside
        assert not any("passwd" in k or k.endswith("/.env") for k in objects)
        for name in ("link-to-env", "link-to-etc", "link-up", "link-dangling"):
            assert f"covers/{name}" in output  # listed in the module's skipped_symlinks
        case.row.done = (
            "links in covers/: to a cover in the tree, to the instance's .env, to /etc, to ../.., dangling; "
            "full migration"
        )
        case.row.observed = (
            "the in-tree link uploaded under its own name with the cover's bytes; the other four not followed, "
            f"listed in skipped_symlinks; none of {len(objects)} objects holds .env or /etc content"
        )
    else:
        big = objects["images/covers/big.bin"]
        assert big["size"] == BIG and re.search(r"-\d+$", big["etag"]), big
        digest = hashlib.md5()  # noqa: S324 - content comparison
        for chunk in client.get_object(Bucket=BUCKET, Key="images/covers/big.bin")["Body"].iter_chunks(1 << 20):
            digest.update(chunk)
        assert digest.hexdigest() == hashlib.md5((covers / "big.bin").read_bytes()).hexdigest()  # noqa: S324
        case.row.done = "covers/big.bin of 70 MiB (media_sync's multipart threshold is 64 MiB); full migration"
        case.row.observed = f"uploaded in parts (ETag {big['etag'][-3:]}), 70 MiB, MD5 of the downloaded object = local"
    missing = h.missing_in_bucket(bed["tree"], BUCKET)
    lost = h.lost_files(bed["tree"], h.snapshot_tree(bed["media"]))
    case.row.files_lost = str(len(missing) + len(lost))
    assert not missing and not lost
    case.scan([bed["instance"].directory], extra=[migrated["dir"]])


def test_project_name_differs_and_empty_volume(bed, bad_runs, case):
    """Instance directory named unlike its compose project, with an empty media volume."""
    proj = bed["proj"]
    case_dir = case.dir
    # what an admin does after the clear error: say which project it is
    hv = h.host_vars(proj, "rel-inputs-proj", case_dir, bookwyrm_s3_project_name=PROJ_NAME)
    before = proj.env_file.read_bytes()
    run = h.run_play(case_dir, {PROJ_DIR: hv})
    try:
        assert run.rc == 0, run.output[-4000:]
        rep = h.report(hv)
        assert rep["phases"]["preflight"]["project"] == PROJ_NAME
        assert rep["phases"]["media_copy"]["counts"]["scanned"] == 0
        assert rep["phases"]["verify"]["status"] == "ok"
        volumes = tb.docker("volume", "ls", "-q").stdout.split()
        assert f"{PROJ_DIR}_media_volume" not in volumes and f"{PROJ_NAME}_media_volume" in volumes
        assert h.web_env(proj)[0]["USE_S3"] == "true" and h.page_storage(proj) == "bucket"
        assert proj.env_file.read_bytes() != before
        case.row.done = (
            f"directory {PROJ_DIR}, project {PROJ_NAME}, nothing in the media volume; migration with "
            f"bookwyrm_s3_project_name={PROJ_NAME} (as the error of the bad-input case says)"
        )
        case.row.observed = (
            f"project {PROJ_NAME} used, its empty media volume copied (0 files), no volume {PROJ_DIR}_media_volume "
            "created; restart recreated the project's web; verify ok; page from the bucket"
        )
        case.row.files_lost = "0"
        case.scan([proj.directory])
    finally:
        h.drop_bucket("rel-inputs-proj")


def test_rerun_at_vvv_changes_nothing(bed, migrated, case):
    """Rerun of a finished migration at -vvv."""
    case_dir = case.dir
    hv = dict(migrated["hv"], bookwyrm_s3_report_path=str(case_dir / "report.json"))
    run = h.run_play(case_dir, {NAME: hv})
    assert run.rc == 0, run.output[-3000:]
    recap = re.search(r"changed=(\d+)", run.output.rsplit("PLAY RECAP", 1)[-1])
    assert recap and recap.group(1) == "0", run.changed_tasks()
    assert bed["instance"].env_file.read_bytes() == migrated["env_after"]
    case.row.done = "the same playbook again on the migrated instance (its .env now holds the secret key), -vvv --diff"
    case.row.observed = "rc 0, changed=0, .env byte-identical; output, log, report and diff free of the secret"
    case.row.files_lost = "0"
    case.scan([bed["instance"].directory], extra=[migrated["dir"]])


def test_bucket_exposure_after_migration(bed, migrated, case):
    """After a migration: anonymous listing, exports/, CORS origins."""
    case.row.group = "secrets"
    server = tb.load_s3()
    client = server.client()
    url = f"{server.endpoint_url}/{BUCKET}"
    client.put_object(Bucket=BUCKET, Key="exports/probe.json", Body=b"{}")
    listing = [tb.http_get(url + "/")[0], tb.http_get(url + "?list-type=2")[0], tb.http_get(url + "?prefix=images/")[0]]
    exports = tb.http_get(url + "/exports/probe.json")[0]
    images = tb.http_get(url + "/images/covers/zero.png")[0]
    static = tb.http_get(url + "/static/css/themes/bookwyrm-light.css")[0]
    rules = client.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    origins = sorted({o for rule in rules for o in rule["AllowedOrigins"]})
    methods = sorted({m for rule in rules for m in rule["AllowedMethods"]})
    expected = [f"http://localhost:{PORT}"]  # DOMAIN=localhost: BookWyrm's only origin (bookwyrm.s3.cors_origins)
    pre_own = _request(
        url + "/static/css/themes/bookwyrm-light.css",
        "OPTIONS",
        {"Origin": f"http://localhost:{PORT}", "Access-Control-Request-Method": "GET"},
    )
    pre_evil = _request(
        url + "/static/css/themes/bookwyrm-light.css",
        "OPTIONS",
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    allow = {k.lower(): v for k, v in pre_own[1].items()}.get("access-control-allow-origin")
    evil = {k.lower(): v for k, v in pre_evil[1].items()}.get("access-control-allow-origin")
    assert all(status in (401, 403) for status in listing), listing
    assert exports in (401, 403) and images == 200 and static == 200
    assert origins == expected and set(methods) <= {"GET", "HEAD"}
    assert allow == f"http://localhost:{PORT}" and evil in (None, "")
    case.row.done = (
        "anonymous GET of the bucket root (3 listing forms), of exports/probe.json (put there with the admin key), "
        "of an image and a stylesheet; bucket CORS read with boto3; CORS preflights from the instance and from "
        "https://evil.example"
    )
    case.row.observed = (
        f"listing {listing}; exports/ {exports}; images/ {images}, static/ {static}; CORS origins {origins}, "
        f"methods {methods}; preflight from the instance allowed ({allow}), from evil.example no "
        "Access-Control-Allow-Origin"
    )
    case.row.files_lost = "0"
    case.scan([bed["instance"].directory], extra=[migrated["dir"]])
