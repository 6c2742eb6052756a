from django.urls import path

from bookwyrm import views

urlpatterns = [
    path("", views.index, name="index"),
    path("preferences/user-export/<int:archive_id>", views.export_archive, name="prefs-export-file"),
]
