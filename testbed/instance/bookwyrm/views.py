from django.shortcuts import render

from bookwyrm.models import Book, User


def index(request):
    """One seeded book with its cover (never creates one: the page only reads)."""
    book = Book.objects.exclude(cover="").exclude(cover__isnull=True).order_by("id").first()
    user = User.objects.exclude(avatar="").exclude(avatar__isnull=True).order_by("id").first()
    return render(
        request,
        "index.html",
        {"book": book, "user": user, "book_count": Book.objects.count()},
    )
