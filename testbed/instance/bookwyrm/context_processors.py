"""What every page's layout needs, like upstream's site context: the instance's own URL."""

from django.conf import settings


def site(request):
    return {"BASE_URL": settings.BASE_URL, "thumbnail_generation_enabled": settings.ENABLE_THUMBNAIL_GENERATION}
