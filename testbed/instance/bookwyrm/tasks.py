"""Celery tasks (found by celerywyrm's autodiscover)."""

import logging
import time

from celerywyrm.celery import app

from bookwyrm.media import write_cover
from bookwyrm.models import Book

logger = logging.getLogger(__name__)


@app.task(name="bookwyrm.tasks.write_media")
def write_media(count, interval):
    """Write count new covers through the default storage, one every interval seconds."""
    names = []
    number = Book.objects.filter(title__startswith="Live book ").count()
    for i in range(count):
        if i:
            time.sleep(interval)
        number += 1
        while Book.objects.filter(title=f"Live book {number:05d}").exists():
            number += 1
        book = Book.objects.create(title=f"Live book {number:05d}")
        name = write_cover(book, f"testbed-live-{number:05d}.png", f"live-{number}", number)
        logger.info("write_media: wrote %s", name)
        names.append(name)
    return names
