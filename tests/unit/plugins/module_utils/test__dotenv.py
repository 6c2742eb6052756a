"""Unit tests of plugins/module_utils/_dotenv.py, with real bash and real docker compose as oracles."""

import json
import os
import random
import shutil
import subprocess

import pytest
from ansible_collections.bookwyrm.s3.plugins.module_utils._dotenv import (
    MASK,
    MASK_CHANGED,
    DotEnv,
    DotEnvError,
    is_secret_key,
    masked_diff,
    parse,
    quote_value,
    validate_key,
)

REALISTIC = (
    "# BookWyrm settings\n"
    "\n"
    'SECRET_KEY="7(2w1sedok=aznpq)ta1mc4i%4h=xx@hxwx*o57ctsuml0x%fr"\n'
    "DEBUG=false\n"
    "export DOMAIN=your.domain.here\n"
    "  EMAIL=your@email.here   # indented, trailing comment\n"
    "POSTGRES_PASSWORD='sec$ret pw'\n"
    'ALLOWED_HOSTS="localhost,127.0.0.1,[::1]"\n'
    "USE_S3=false\n"
    "# USE_S3=true\n"
    "weird line without equals\n"
    "SPACED = value\n"
    'MULTI="line one\n'
    "FAKE=inside the quotes\n"
    'line three"\n'
    "USE_S3=false # the effective one\n"
    "UNQUOTED_DOLLAR=$HOME/x\n"
    "\t\n"
    "EMPTY=\n"
    "LAST=no-final-newline"
)


def _bytes_roundtrip(text):
    return DotEnv.from_bytes(text.encode("utf-8", "surrogateescape")).to_bytes()


# ---------------------------------------------------------------- parsing and round trip


@pytest.mark.parametrize(
    "text",
    [
        REALISTIC,
        REALISTIC.replace("\n", "\r\n"),
        REALISTIC + "\n",
        "",
        "\n",
        "A=1",
        "A='unterminated\nB=2\n",
        'A="unterminated \\" still\nB=2\n',
        "A=1\r\nB=2\n",  # mixed endings
        "\ufeffA=1\n",  # BOM
        "A=\u00e9\u2028x\n",  # unicode line separator is not a newline here
    ],
)
def test_roundtrip_is_byte_exact(text):
    assert DotEnv(text).render() == text
    assert _bytes_roundtrip(text) == text.encode("utf-8", "surrogateescape")


def test_roundtrip_keeps_invalid_utf8():
    data = b"A=1\nB=\xff\xfe\nC=3\n"
    env = DotEnv.from_bytes(data)
    assert env.to_bytes() == data
    env.set("C", "4")
    assert env.to_bytes() == b"A=1\nB=\xff\xfe\nC=4\n"


def test_parse_reads_common_values():
    env = DotEnv(REALISTIC)
    assert env.get("SECRET_KEY") == "7(2w1sedok=aznpq)ta1mc4i%4h=xx@hxwx*o57ctsuml0x%fr"
    assert env.get("DEBUG") == "false"
    assert env.get("DOMAIN") == "your.domain.here"
    assert env.get("EMAIL") == "your@email.here"
    assert env.get("POSTGRES_PASSWORD") == "sec$ret pw"
    assert env.get("ALLOWED_HOSTS") == "localhost,127.0.0.1,[::1]"
    assert env.get("USE_S3") == "false"
    assert env.get("EMPTY") == ""
    assert env.get("LAST") == "no-final-newline"
    assert env.get("MISSING", "dflt") == "dflt"
    # the line inside the multi-line value is not an assignment
    assert "FAKE" not in env.keys()
    assert "SPACED" not in env.keys()
    # bash expands $HOME, compose interpolates it: the value is unknown, not "$HOME/x"
    with pytest.raises(DotEnvError, match="UNQUOTED_DOLLAR"):
        env.get("UNQUOTED_DOLLAR")
    with pytest.raises(DotEnvError):
        env.get("MULTI")


@pytest.mark.parametrize(
    "line, value",
    [
        ("K=abc", "abc"),
        ("K=abc # c", "abc"),
        ("K=abc\t # c", "abc"),
        ("K=abc   ", "abc"),
        ("K=", ""),
        ("K=   ", ""),
        ("K=''", ""),
        ('K=""', ""),
        ("K='a b' # c", "a b"),
        ("K='a b'\t# c", "a b"),
        ("K='a\\b'", "a\\b"),
        ("K='$x'", "$x"),
        ('K="it\'s"', "it's"),
        ("export K=v", "v"),
        ("export\tK='v'", "v"),
        ("   K=v", "v"),
        # ambiguous between bash and compose
        ("K=abc#c", None),  # bash: abc#c, compose: abc#c, but we do not try
        ("K=abc\t# c", None),  # bash: abc, compose: 'abc\t# c'
        ("K= # c", None),  # bash: empty, compose: '# c'
        ("K= v", None),  # bash runs the command v
        ("K=a b", None),
        ("K=$HOME", None),
        ("K=~", None),
        ("K='a\\'", None),  # compose reads \' as an escaped quote
        ("K='a'b", None),
        ("K='a'# c", None),
        ('K="a$b"', None),
        ('K="a\\nb"', None),
        ('K="a`b`"', None),
        ("K=a'b'", None),
    ],
)
def test_value_reading(line, value):
    for ending in ("", "\n", "\r\n"):
        entries = parse(line + ending)
        assert len(entries) == 1
        assert entries[0].key == "K"
        assert entries[0].value == value
        assert entries[0].raw == line + ending


@pytest.mark.parametrize("line", ["K = v", "K: v", "1K=v", "K-1=v", "k.x=v", "# K=v", "export K", "K"])
def test_non_assignments_are_opaque(line):
    (entry,) = parse(line + "\n")
    assert entry.key is None
    assert entry.raw == line + "\n"


# ---------------------------------------------------------------- quoting


@pytest.mark.parametrize(
    "value, written",
    [
        ("", ""),
        ("abc", "abc"),
        ("AKIA0123456789/+=", "AKIA0123456789/+="),
        ("https://s3.example.net:9000/x", "https://s3.example.net:9000/x"),
        ("user@example.com", "user@example.com"),
        ("a,b.c_d-e%f", "a,b.c_d-e%f"),
        ("a b", "'a b'"),
        ("$HOME", "'$HOME'"),
        ("${X}", "'${X}'"),
        ("a#b", "'a#b'"),
        ("~", "'~'"),
        ('say "hi"', "'say \"hi\"'"),
        ("`x`", "'`x`'"),
        ("a\\b", "'a\\b'"),
        ("\u00e9t\u00e9", "'\u00e9t\u00e9'"),
        ("it's", '"it\'s"'),
        ("it's #1 !", '"it\'s #1 !"'),
    ],
)
def test_quote_value_table(value, written):
    assert quote_value("K", value) == written


@pytest.mark.parametrize(
    "value, reason",
    [
        ("a\nb", "newline"),
        ("a\rb", "carriage return"),
        ("a\x00b", "NUL"),
        ("it's $5", "single quote together with '\\$'"),
        ("it's `x`", "single quote"),
        ('it\'s "x"', "single quote"),
        ("it's a\\b", "single quote"),
        ("ends\\", "trailing backslash"),
    ],
)
def test_quote_value_refuses_and_hides_the_value(value, reason):
    with pytest.raises(DotEnvError) as excinfo:
        quote_value("MY_KEY", value)
    message = str(excinfo.value)
    assert "MY_KEY" in message
    assert reason.replace("\\$", "$") in message.replace("\\$", "$")
    assert value not in message


def test_quote_value_refuses_non_strings():
    with pytest.raises(DotEnvError, match="K must be a string"):
        quote_value("K", 1)


@pytest.mark.parametrize("key", ["", "1A", "A-B", "A B", "A.B", "É", "A=B", "export A", None])
def test_validate_key_rejects(key):
    with pytest.raises(DotEnvError, match="A-Za-z_"):
        validate_key(key)


@pytest.mark.parametrize("key", ["A", "_", "a_1", "AWS_SECRET_ACCESS_KEY"])
def test_validate_key_accepts(key):
    validate_key(key)


# ---------------------------------------------------------------- set and unset


def test_set_existing_keeps_everything_else():
    env = DotEnv(REALISTIC)
    assert env.set("DEBUG", "true")
    assert env.render() == REALISTIC.replace("DEBUG=false\n", "DEBUG=true\n")


def test_set_same_value_is_no_change_whatever_the_quoting():
    env = DotEnv(REALISTIC)
    for key in ("SECRET_KEY", "DOMAIN", "EMAIL", "POSTGRES_PASSWORD", "ALLOWED_HOSTS", "EMPTY", "LAST"):
        assert not env.set(key, env.get(key)), key
    assert env.render() == REALISTIC


def test_set_keeps_export_indent_and_comment():
    env = DotEnv(REALISTIC)
    assert env.set("DOMAIN", "books.example")
    assert env.set("EMAIL", "a b")
    text = env.render()
    assert "\nexport DOMAIN=books.example\n" in text
    assert "\n  EMAIL='a b'   # indented, trailing comment\n" in text


def test_set_ambiguous_value_is_rewritten():
    env = DotEnv("X=$HOME/x\n")
    assert env.set("X", "$HOME/x")
    assert env.render() == "X='$HOME/x'\n"
    assert not env.set("X", "$HOME/x")


def test_set_drops_garbage_after_value():
    env = DotEnv("X=a'b c'\n")
    assert env.set("X", "v")
    assert env.render() == "X=v\n"


def test_set_duplicates_updates_last_and_removes_earlier():
    text = "A=1\nUSE_S3=false\nB=2\nUSE_S3=maybe # last\nC=3\n"
    env = DotEnv(text)
    assert env.set("USE_S3", "true")
    assert env.render() == "A=1\nB=2\nUSE_S3=true # last\nC=3\n"
    assert not env.set("USE_S3", "true")


def test_set_duplicates_with_right_value_still_removes_earlier():
    env = DotEnv("K=old\nK=new\n")
    assert env.set("K", "new")
    assert env.render() == "K=new\n"
    assert not env.set("K", "new")


def test_set_new_key_appends():
    env = DotEnv("A=1\n")
    assert env.set("B", "x y")
    assert env.render() == "A=1\nB='x y'\n"


def test_set_new_key_without_final_newline():
    env = DotEnv("# c\nA=1")
    assert env.set("B", "2")
    assert env.render() == "# c\nA=1\nB=2\n"
    env = DotEnv("A=1\n# trailing comment")
    assert env.set("B", "2")
    assert env.render() == "A=1\n# trailing comment\nB=2\n"


def test_set_existing_last_line_without_newline_stays_so():
    env = DotEnv("A=1\nB=2")
    assert env.set("B", "3")
    assert env.render() == "A=1\nB=3"


def test_set_in_crlf_file_uses_crlf():
    env = DotEnv("A=1\r\nB=2\r\n")
    assert env.set("B", "3")
    assert env.set("C", "4")
    assert env.render() == "A=1\r\nB=3\r\nC=4\r\n"
    env = DotEnv("A=1\r\nB=2")
    env.set("C", "x")
    assert env.render() == "A=1\r\nB=2\r\nC=x\r\n"


def test_set_in_empty_file():
    env = DotEnv("")
    assert env.set("A", "")
    assert env.render() == "A=\n"


def test_set_multiline_value_replaced_whole():
    env = DotEnv(REALISTIC)
    assert env.set("MULTI", "one line")
    text = env.render()
    assert "MULTI='one line'\nUSE_S3=false # the effective one\n" in text
    assert "FAKE" not in text


def test_set_does_not_touch_lookalikes():
    env = DotEnv(REALISTIC)
    assert env.set("FAKE", "x")  # the FAKE= inside MULTI's value is not an assignment
    assert env.render() == REALISTIC + "\nFAKE=x\n"
    env = DotEnv(REALISTIC)
    assert env.set("SPACED", "v")
    assert "SPACED = value\n" in env.render()
    assert env.render().endswith("\nSPACED=v\n")


def test_set_refusal_leaves_file_untouched():
    env = DotEnv("A=1\n")
    with pytest.raises(DotEnvError):
        env.set("A", "x\ny")
    assert env.render() == "A=1\n"


def test_unset_removes_all_occurrences():
    env = DotEnv("A=1\nB=2\nA='3' # c\nexport A=4\nC=5")
    assert env.unset("A")
    assert env.render() == "B=2\nC=5"
    assert not env.unset("A")


def test_unset_last_line_without_newline():
    env = DotEnv("A=1\nB=2")
    assert env.unset("B")
    assert env.render() == "A=1\n"


def test_unset_keeps_comments_and_lookalikes():
    env = DotEnv(REALISTIC)
    assert env.unset("USE_S3")
    text = env.render()
    assert "# USE_S3=true\n" in text
    assert "USE_S3=false" not in text


def test_keys_in_order_of_last_assignment():
    assert DotEnv("A=1\nB=2\nA=3\n").keys() == ["B", "A"]


# ---------------------------------------------------------------- masking


@pytest.mark.parametrize(
    "key, secret",
    [
        ("SECRET_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("POSTGRES_PASSWORD", True),
        ("EMAIL_HOST_PASSWORD", True),
        ("api_token", True),
        ("USE_S3", False),
        ("AWS_STORAGE_BUCKET_NAME", False),
        ("EMAIL_HOST_USER", False),
    ],
)
def test_is_secret_key(key, secret):
    assert is_secret_key(key) is secret


def test_masked_hides_every_secret_line():
    text = (
        "SECRET_KEY=abc123\n"
        "# SECRET_KEY=oldsecret\n"
        "#AWS_SECRET_ACCESS_KEY = oldsecret2\n"
        "POSTGRES_PASSWORD = spaced-secret\n"
        "REDIS_PASSWORD='multi\nline-secret'\n"
        "EMAIL_HOST_USER=mailuser\n"
        "USE_S3=false\n"
    )
    masked = DotEnv(text).masked(secret_keys=["EMAIL_HOST_USER"])
    for secret in ("abc123", "oldsecret", "oldsecret2", "spaced-secret", "line-secret", "mailuser"):
        assert secret not in masked
    assert masked == (
        "SECRET_KEY=%s\n"
        "# SECRET_KEY=%s\n"
        "#AWS_SECRET_ACCESS_KEY =%s\n"
        "POSTGRES_PASSWORD =%s\n"
        "REDIS_PASSWORD=%s\n"
        "EMAIL_HOST_USER=%s\n"
        "USE_S3=false\n"
    ) % ((MASK,) * 6)


def test_masked_diff_shows_that_a_secret_changed():
    text = "SECRET_KEY=old\nDEBUG=false\nAWS_SECRET_ACCESS_KEY=unchanged\n"
    before = DotEnv(text)
    after = DotEnv(text)
    after.set("SECRET_KEY", "new-value")
    after.set("DEBUG", "true")
    after.set("API_TOKEN", "tok")
    diff = masked_diff(before, after, path="/x/.env")
    assert diff["before"] == f"SECRET_KEY={MASK}\nDEBUG=false\nAWS_SECRET_ACCESS_KEY={MASK}\n"
    assert diff["after"] == (
        f"SECRET_KEY={MASK_CHANGED}\nDEBUG=true\nAWS_SECRET_ACCESS_KEY={MASK}\nAPI_TOKEN={MASK_CHANGED}\n"
    )
    assert diff["before_header"] == diff["after_header"] == "/x/.env"
    for secret in ("old", "new-value", "unchanged", "tok"):
        assert "=" + secret not in diff["before"] + diff["after"]


def test_masked_diff_new_file():
    after = DotEnv("")
    after.set("K", "v")
    diff = masked_diff(None, after, path="/x/.env")
    assert diff == {"before": "", "after": "K=v\n", "before_header": "/x/.env (absent)", "after_header": "/x/.env"}


# ---------------------------------------------------------------- property test: real bash and real compose

TRICKY = [
    "",
    "plain",
    "with space",
    " leading",
    "trailing ",
    "  ",
    "a#b",
    "a #b",
    "#start",
    "a # b",
    "$HOME",
    "${HOME}",
    "${HOME:-x}",
    "$$",
    "a$",
    "$",
    "\\",
    "\\\\",
    "a\\b",
    "\\\\server\\share",
    "back\\slash\\n",
    "\\$HOME",
    "tab\there",
    "\tlead",
    "it's",
    "it's a #test !",
    "'",
    "''",
    '"',
    '""',
    'say "hi"',
    '"quoted"',
    "`cmd`",
    "$(cmd)",
    "a=b=c",
    "=",
    "~",
    "~/x",
    "a:~/x",
    "*",
    "?",
    "[a]",
    "{a,b}",
    "\u00e9t\u00e9 unicode \u2713",
    "\u65e5\u672c\u8a9e",
    "emoji \U0001f600",
    "\u00a0nbsp\u00a0",
    "line\u2028sep",
    "!bang",
    "!!",
    "a;b",
    "a&b",
    "a|b",
    "<x>",
    "(x)",
    "%s %d",
    "key:value",
    "https://example.com/a?b=c&d=e#frag",
    "-dash",
    "--",
    "x\\y'",  # refused
    "it's $5",  # refused
    "ends\\",  # refused
    "nl\nx",  # refused
    "\x01ctrl\x1b[0m",
    "\x0bvt\x0cff",
    "\x7fdel",
    "7(2w1sedok=aznpq)ta1mc4i%4h=xx@hxwx*o57ctsuml0x%fr",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "export",
    "export X=1",
    "K=V",
]


def _random_values(count=400, seed=20260714):
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not cryptography
    alphabet = [*"aZ09_./:@%+,=- \t#$'\"`\\~!*?[]{}();&|<>^\u00e9\u2713", "${X}", "$$", " #", "\\'", "\\n"]
    return ["".join(rng.choice(alphabet) for _char in range(rng.randint(0, 12))) for _value in range(count)]


ALL_VALUES = TRICKY + _random_values()


def _writable_values():
    """(key, value) for every value quote_value accepts; checks the refusals are for a reason."""
    pairs = []
    for index, value in enumerate(ALL_VALUES):
        key = f"V{index}"
        try:
            quote_value(key, value)
        except DotEnvError:
            assert (
                any(c in value for c in "\n\r\x00")
                or value.endswith("\\")
                or ("'" in value and any(c in value for c in '$`"\\'))
            ), repr(value)
            continue
        pairs.append((key, value))
    return pairs


def _write_env(tmp_path, pairs, base=""):
    env = DotEnv(base)
    for key, value in pairs:
        env.set(key, value)
    path = tmp_path / "test.env"
    path.write_bytes(env.to_bytes())
    return path


def _bash_read(path, keys):
    script = 'set -a; . "$1" || exit 9; shift; for k in "$@"; do printf "%s\\0" "${!k}"; done'
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script, "bash", str(path), *keys],
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent-home", "X": "from-env"},
        capture_output=True,
        check=True,
    )
    assert result.stderr == b"", result.stderr
    return dict(zip(keys, result.stdout.decode("utf-8").split("\0")[:-1]))


def _compose_available():
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


def _compose_read(tmp_path, path):
    if not _compose_available():
        pytest.skip("`docker compose version` fails: docker compose v2 is not installed")
    compose_file = tmp_path / "compose.yml"
    compose_file.write_text(f"services:\n  s:\n    image: busybox\n    env_file: {path.name}\n")
    argv = ["docker", "compose", "-f", str(compose_file), "--project-directory", str(tmp_path)]
    result = subprocess.run(
        [*argv, "config", "--format", "json"],
        env=dict(os.environ, X="from-env"),  # HOME and PATH locate the compose plugin
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["s"].get("environment", {})
    # `config` escapes "$" as "$$" so that its output is itself a valid compose file.
    return {k: (v.replace("$$", "$") if v is not None else None) for k, v in environment.items()}


def test_property_bash_reads_what_was_written(tmp_path):
    pairs = _writable_values()
    assert len(pairs) > 200
    path = _write_env(tmp_path, pairs)
    got = _bash_read(path, [key for key, _value in pairs])
    mismatches = [(v, got.get(k)) for k, v in pairs if got.get(k) != v]
    assert not mismatches


def test_property_compose_reads_what_was_written(tmp_path):
    pairs = _writable_values()
    path = _write_env(tmp_path, pairs)
    got = _compose_read(tmp_path, path)
    mismatches = [(v, got.get(k)) for k, v in pairs if got.get(k) != v]
    assert not mismatches


def test_property_values_read_back_by_parser(tmp_path):
    pairs = _writable_values()
    env = DotEnv(_write_env(tmp_path, pairs).read_text(encoding="utf-8"))
    for key, value in pairs:
        assert env.get(key) == value
        assert not env.set(key, value)


def test_property_values_readers_agree_with_parser(tmp_path):
    """Whenever our parser claims to know a value, bash and compose both read exactly it."""
    lines = [
        f"K{i}={line.split('=', 1)[1]}"
        for i, line in enumerate(
            [
                "K=abc # c",
                "K=abc\t # c",
                "K=   ",
                "K=''",
                'K=""',
                "K='a b'\t# c",
                "K='a\\b'",
                "K='$x'",
                'K="it\'s"',
                "K=a'b'",
                "K=abc#c",
                "K='x\\\\'",
            ]
        )
    ]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "test.env"
    path.write_text(text)
    entries = [e for e in parse(text) if e.value is not None]
    assert len(entries) >= 9
    keys = [e.key for e in entries]
    bash = _bash_read(path, keys)
    for entry in entries:
        assert bash[entry.key] == entry.value, entry.raw
    compose = _compose_read(tmp_path, path)
    for entry in entries:
        assert compose[entry.key] == entry.value, entry.raw


def test_property_edited_realistic_file(tmp_path):
    """Setting tricky values in a realistic file: both readers get them, the rest is unchanged."""
    base = REALISTIC
    for line in ("UNQUOTED_DOLLAR=$HOME/x\n", "SPACED = value\n", "weird line without equals\n"):
        base = base.replace(line, "")  # lines bash cannot source
    pairs = [*_writable_values()[:60], ("DEBUG", "a b"), ("DOMAIN", "$x"), ("EMAIL", "it's"), ("LAST", "")]
    path = _write_env(tmp_path, pairs, base=base)
    expected = dict(pairs, SECRET_KEY="7(2w1sedok=aznpq)ta1mc4i%4h=xx@hxwx*o57ctsuml0x%fr", USE_S3="false")  # noqa: S106
    got = _bash_read(path, list(expected))
    assert got == expected
    compose = _compose_read(tmp_path, path)
    assert {k: compose.get(k) for k in expected} == expected
