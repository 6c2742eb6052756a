"""Storage classes, configured the way BookWyrm configures django-storages."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage


class StaticStorage(S3Storage):
    """Static files under static/ in the bucket."""

    location = "static"
    default_acl = settings.AWS_DEFAULT_ACL


class ImagesStorage(S3Storage):
    """Media (covers, avatars, previews) under images/; never overwrites a name."""

    location = "images"
    default_acl = settings.AWS_DEFAULT_ACL
    file_overwrite = False


class ExportsFileStorage(FileSystemStorage):
    """User exports on the local exports volume (the default, USE_S3_FOR_EXPORTS=false)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("location", settings.EXPORTS_ROOT)
        kwargs.setdefault("base_url", "/exports/")
        super().__init__(**kwargs)


class ExportsS3Storage(S3Storage):
    """User exports in their own private bucket, handed out through signed URLs."""

    location = "exports"
    default_acl = "private"
    file_overwrite = False
    querystring_auth = True

    def __init__(self, **kwargs):
        kwargs.setdefault("bucket_name", settings.EXPORTS_STORAGE_BUCKET_NAME)
        kwargs.setdefault("access_key", settings.EXPORTS_ACCESS_KEY_ID)
        kwargs.setdefault("secret_key", settings.EXPORTS_SECRET_ACCESS_KEY)
        kwargs.setdefault("region_name", settings.EXPORTS_S3_REGION_NAME)
        kwargs.setdefault("endpoint_url", settings.EXPORTS_S3_ENDPOINT_URL)
        kwargs.setdefault("custom_domain", settings.EXPORTS_S3_CUSTOM_DOMAIN)
        kwargs.setdefault("querystring_expire", settings.S3_SIGNED_URL_EXPIRY)
        super().__init__(**kwargs)
