"""Have the celery worker write new covers while something else (a migration) runs."""

from django.core.management.base import BaseCommand

from bookwyrm.tasks import write_media


class Command(BaseCommand):
    help = "Enqueue a task that writes COUNT new covers, one every INTERVAL seconds"

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=10)
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--now", action="store_true", help="run in this process instead of celery")

    def handle(self, *args, **opts):
        if opts["now"]:
            names = write_media(opts["count"], opts["interval"])
            self.stdout.write("\n".join(names))
        else:
            result = write_media.delay(opts["count"], opts["interval"])
            self.stdout.write(f"Enqueued write_media task {result.id}")
