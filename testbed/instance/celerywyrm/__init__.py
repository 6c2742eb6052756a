"""Celery app of the stand-in instance (named like upstream's)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
