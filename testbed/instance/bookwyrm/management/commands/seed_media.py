"""Create books, users and exports whose files go through the configured storages.

Names are deterministic (testbed-cover-0001.png, ...) and rows that exist are skipped,
so running it again adds nothing; raising a count adds only the missing items.
"""

import json

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand

from bookwyrm.images import png, size_for
from bookwyrm.media import store, write_cover
from bookwyrm.models import Book, ExportJob, User


class Command(BaseCommand):
    help = "Seed media files (covers, avatars, preview images, exports)"

    def add_arguments(self, parser):
        parser.add_argument("--covers", type=int, default=0)
        parser.add_argument("--avatars", type=int, default=0)
        parser.add_argument("--previews", type=int, default=0)
        parser.add_argument("--exports", type=int, default=0)

    def handle(self, *args, **opts):
        written = 0
        for i in range(1, max(opts["covers"], opts["previews"]) + 1):
            book, _ = Book.objects.get_or_create(title=f"Testbed book {i:04d}")
            if i <= opts["covers"] and not book.cover:
                write_cover(book, f"testbed-cover-{i:04d}.png", f"cover-{i}", i)
                written += 1
            if i <= opts["previews"] and not book.preview_image:
                field = Book._meta.get_field("preview_image")
                book.preview_image = store(field, f"testbed-preview-{i:04d}.png", png(f"preview-{i}", size_for(i * 3)))
                book.save(update_fields=["preview_image"])
                written += 1
        for i in range(1, opts["avatars"] + 1):
            user, _ = User.objects.get_or_create(username=f"testbed-user-{i:04d}")
            if not user.avatar:
                field = User._meta.get_field("avatar")
                image = png(f"avatar-{i}", size_for(i * 5, high=8 * 1024))
                user.avatar = store(field, f"testbed-avatar-{i:04d}.png", image)
                user.save(update_fields=["avatar"])
                written += 1
        existing = ExportJob.objects.count()
        for i in range(existing + 1, opts["exports"] + 1):
            job = ExportJob.objects.create()
            data = json.dumps({"testbed_export": i, "books": [f"Testbed book {i:04d}"]}).encode()
            job.export_data.save(f"testbed-export-{i:04d}.json", ContentFile(data))
            written += 1
        if written:
            # Test helper only: seeded books show at once. (Upstream has no such step: its landing
            # fragment keeps what it was rendered with for an hour; the collection clears it.)
            client = getattr(getattr(cache, "_cache", None), "get_client", None)
            if client is not None:
                redis = client(write=True)
                for key in redis.scan_iter(match=cache.make_key("template.cache.*")):
                    redis.delete(key)
        self.stdout.write(f"Seeded {written} files")
