"""Writing test media through the configured storages (local volume or bucket)."""

import posixpath

from django.conf import settings
from django.core.files.base import ContentFile

from bookwyrm.images import png, size_for


def store(field, filename, data):
    """Save data under the field's upload_to through the field's storage.

    Reuses an existing file of that name instead of writing "name_<random>.png": running
    a seed twice then leaves the storage as it was.
    """
    name = f"{field.upload_to}{filename}"
    if field.storage.exists(name):
        return name
    return field.storage.save(name, ContentFile(data))


# Like upstream's imagekit renditions (which make 12 per cover), fewer to stay cheap.
THUMBNAILS = (("medium", 900), ("xxlarge", 2400))


def thumbnail_name(cover_name, size, ext):
    """thumbnails/covers/<cover stem>/bw_book_<size>.<ext>, in the media storage (images/)."""
    stem = posixpath.splitext(posixpath.basename(cover_name))[0]
    return f"thumbnails/covers/{stem}/bw_book_{size}.{ext}"


def write_thumbnails(cover_name, seed):
    if not settings.ENABLE_THUMBNAIL_GENERATION:
        return []
    from django.core.files.storage import default_storage

    names = []
    for size, nbytes in THUMBNAILS:
        for ext in ("webp", "jpg"):
            name = thumbnail_name(cover_name, size, ext)
            if not default_storage.exists(name):
                default_storage.save(name, ContentFile(png(f"{seed}-{size}", nbytes)))
            names.append(name)
    return names


def write_cover(book, filename, seed, index):
    """Give book a generated cover image (1-60 KB) and its thumbnails, and save the row."""
    book.cover = store(book._meta.get_field("cover"), filename, png(seed, size_for(index)))
    book.save(update_fields=["cover"])
    write_thumbnails(book.cover.name, seed)
    return book.cover.name
