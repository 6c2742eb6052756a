"""Compile the SCSS themes to CSS beside them, inside the app tree (like upstream).

The CSS is written into the container's filesystem, not a volume: it is lost when a
throwaway container exits, so compile_themes and collectstatic must run in one container.
"""

from pathlib import Path

import sass
from django.conf import settings
from django.core.management.base import BaseCommand

THEMES_DIR = Path(__file__).resolve().parents[2] / "static" / "css" / "themes"


class Command(BaseCommand):
    help = "Compile bookwyrm/static/css/themes/*.scss to .css"

    def handle(self, *args, **options):
        for scss in sorted(THEMES_DIR.glob("*.scss")):
            if scss.name.startswith("_"):
                continue  # partials are only imported
            # like upstream: compressed unless DEBUG
            style = "nested" if settings.DEBUG else "compressed"
            css = sass.compile(filename=str(scss), include_paths=[str(THEMES_DIR)], output_style=style)
            target = scss.with_suffix(".css")
            target.write_text(css, encoding="utf-8")
            self.stdout.write(f"Compiled {scss.name} -> {target.name}")
