"""Celery app: `celery -A celerywyrm worker`. Broker settings come from bookwyrm.settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookwyrm.settings")

app = Celery("celerywyrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["bookwyrm"])
