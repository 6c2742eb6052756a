"""Create the default connectors, like upstream's initdb (skipped when any exist)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from bookwyrm.models import Connector

CONNECTORS = [
    # id=1 on every current instance: a REMOTE connector, never the local one.
    {
        "identifier": "bookwyrm.social",
        "name": "BookWyrm.social",
        "connector_file": "bookwyrm_connector",
        "base_url": "https://bookwyrm.social",
        "books_url": "https://bookwyrm.social/book",
        "covers_url": "https://bookwyrm.social/images/",
        "search_url": "https://bookwyrm.social/search?q=",
        "isbn_search_url": "https://bookwyrm.social/isbn/",
        "priority": 2,
    },
    {
        "identifier": "inventaire.io",
        "name": "Inventaire",
        "connector_file": "inventaire",
        "base_url": "https://inventaire.io",
        "books_url": "https://inventaire.io/api/entities",
        "covers_url": "https://inventaire.io",
        "search_url": "https://inventaire.io/api/search?types=works&types=works&search=",
        "isbn_search_url": "https://inventaire.io/api/entities?action=by-uris&uris=isbn%3A",
        "priority": 1,
    },
    {
        "identifier": "openlibrary.org",
        "name": "OpenLibrary",
        "connector_file": "openlibrary",
        "base_url": "https://openlibrary.org",
        "books_url": "https://openlibrary.org",
        "covers_url": "https://covers.openlibrary.org",
        "search_url": "https://openlibrary.org/search?q=",
        "isbn_search_url": "https://openlibrary.org/api/books?jscmd=data&format=json&bibkeys=ISBN:",
        "priority": 1,
    },
]


class Command(BaseCommand):
    help = "Create the default connectors (idempotent)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--legacy-self-connector",
            action="store_true",
            help="also add the 'self_connector' row instances from before v0.1.0 still carry",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if Connector.objects.exists():
            self.stdout.write("Connectors exist already, skipping")
        else:
            for fields in CONNECTORS:
                Connector.objects.create(**fields)
            self.stdout.write(f"Created {len(CONNECTORS)} connectors")
        if options["legacy_self_connector"]:
            _, created = Connector.objects.get_or_create(
                connector_file="self_connector",
                defaults={
                    "identifier": settings.DOMAIN,
                    "name": "Local",
                    "base_url": f"https://{settings.DOMAIN}",
                    "books_url": f"https://{settings.DOMAIN}/book",
                    "covers_url": f"https://{settings.DOMAIN}/images/",
                    "search_url": f"https://{settings.DOMAIN}/search?q=",
                    "priority": 0,
                },
            )
            self.stdout.write("Added the legacy self connector" if created else "Legacy self connector exists")
