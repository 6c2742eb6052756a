"""Test bed glue, not part of the stand-in: BookWyrm reads /opt/bookwyrm/.env when its settings
are imported (never from the service's environment), the stand-in reads only os.environ.

This module is DJANGO_SETTINGS_MODULE on the dockerless host (set by testbed_dotenv.pth in the
venv): it loads .env into os.environ the way BookWyrm does (a key already in the environment
wins), then imports the stand-in's settings. It runs in every process that imports the settings:
each gunicorn worker (no --preload, so a SIGHUP's new workers read the .env in place then), the
celery processes and every manage.py command. Drop it once the stand-in reads .env itself.
"""

import os
from pathlib import Path

DOTENV = Path(os.environ.get("BOOKWYRM_DOTENV", "/opt/bookwyrm/.env"))


def _parse(text):
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
            if raw.strip().split("=", 1)[1].strip().startswith('"'):
                value = value.replace('\\"', '"').replace("\\\\", "\\")
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


try:
    for _key, _value in _parse(DOTENV.read_text(encoding="utf-8")).items():
        os.environ.setdefault(_key, _value)
except (FileNotFoundError, PermissionError):
    pass

from bookwyrm.settings import *  # noqa: E402, F403
