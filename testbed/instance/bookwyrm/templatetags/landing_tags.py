"""Template tags of the landing page (our own, standing for upstream's landing_page_tags)."""

from django import template

from bookwyrm.media import thumbnail_name
from bookwyrm.models import Book

register = template.Library()


@register.simple_tag
def get_landing_books():
    """The first six books with a cover (a query the cached fragment saves)."""
    return list(Book.objects.exclude(cover="").exclude(cover__isnull=True).order_by("id")[:6])


@register.filter
def thumbnail_url(book, rendition):
    """URL of one of the cover's thumbnails, e.g. 'medium.webp' (written beside it by write_cover)."""
    size, ext = rendition.split(".")
    return book.cover.storage.url(thumbnail_name(book.cover.name, size, ext))
