from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from bookwyrm.models import Book, ExportJob, User


def index(request):
    """The landing page: the cached book list, one avatar (never creates anything: it only reads)."""
    user = User.objects.exclude(avatar="").exclude(avatar__isnull=True).order_by("id").first()
    return render(request, "landing/landing.html", {"user": user, "book_count": Book.objects.count()})


def export_archive(request, archive_id):
    """A user's export, as BookWyrm's preferences view hands it out: a redirect to a signed URL
    of the exports bucket, or the file from the local exports volume (404 when it is gone)."""
    job = ExportJob.objects.filter(pk=archive_id).first()
    if job is None or not job.export_data:
        raise Http404()
    if settings.USE_S3_FOR_EXPORTS:
        return redirect(job.export_data.url)
    try:
        with job.export_data.open("rb") as data:
            body = data.read()
    except FileNotFoundError:
        raise Http404() from None
    return HttpResponse(
        body,
        content_type="application/gzip",
        headers={"Content-Disposition": 'attachment; filename="bookwyrm-account-export.tar.gz"'},
    )
