"""The few tables of BookWyrm the collection cares about: connectors and media owners."""

from django.core.files.storage import storages
from django.db import models


def exports_storage():
    return storages["exports"]


class Connector(models.Model):
    """A book data source. Since v0.1.0, id=1 is the remote bookwyrm.social connector;
    older instances had a "self_connector" row whose covers_url pointed at DOMAIN/images/."""

    created_date = models.DateTimeField(auto_now_add=True)
    updated_date = models.DateTimeField(auto_now=True)
    identifier = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, null=True, blank=True)
    priority = models.IntegerField(default=2)
    connector_file = models.CharField(max_length=255)
    base_url = models.CharField(max_length=255)
    books_url = models.CharField(max_length=255)
    covers_url = models.CharField(max_length=255)
    search_url = models.CharField(max_length=255, null=True, blank=True)
    isbn_search_url = models.CharField(max_length=255, null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "bookwyrm_connector"

    def __str__(self):
        return f"{self.identifier} ({self.connector_file})"


class Book(models.Model):
    title = models.CharField(max_length=255, unique=True)
    cover = models.FileField(upload_to="covers/", null=True, blank=True)
    preview_image = models.FileField(upload_to="previews/images/", null=True, blank=True)

    def __str__(self):
        return self.title


class User(models.Model):
    """Not an auth user: just enough of BookWyrm's user to own an avatar."""

    username = models.CharField(max_length=150, unique=True)
    avatar = models.FileField(upload_to="avatars/", null=True, blank=True)
    preview_image = models.FileField(upload_to="previews/images/", null=True, blank=True)

    def __str__(self):
        return self.username


class ExportJob(models.Model):
    """A user export; its file lives in the exports storage (local or its own bucket)."""

    created_date = models.DateTimeField(auto_now_add=True)
    export_data = models.FileField(storage=exports_storage, null=True, blank=True)
