"""Writing test media through the configured storages (local volume or bucket)."""

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


def write_cover(book, filename, seed, index):
    """Give book a generated cover image (1-60 KB) and save the row."""
    book.cover = store(book._meta.get_field("cover"), filename, png(seed, size_for(index)))
    book.save(update_fields=["cover"])
    return book.cover.name
