"""Settings of the stand-in BookWyrm instance.

The environment keys and their meanings follow BookWyrm's `.env` (see README.md): the
storage settings in particular must behave as upstream's do, since our collection edits
them and then checks what the instance serves.
"""

import os
from pathlib import Path
from urllib.parse import quote


def env(name, default=None):
    """NAME from the environment, or the contents of the file named by NAME_FILE (v0.8.5+)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as secret:
            return secret.read().strip()
    return os.environ.get(name, default)


def env_bool(name, default=False):
    value = env(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_or_none(name, default=None):
    """Like env(), but an empty value counts as unset (for URLs and domains)."""
    return env(name, default) or None


BASE_DIR = Path(__file__).resolve().parent.parent  # /app in the image

SECRET_KEY = env("SECRET_KEY", "testbed-insecure-secret-key")
DEBUG = env_bool("DEBUG", False)
DOMAIN = env("DOMAIN", "localhost")
EMAIL = env("EMAIL", f"admin@{DOMAIN}")
DEFAULT_FROM_EMAIL = EMAIL
ALLOWED_HOSTS = ["*"]  # test bed: reached as localhost, 127.0.0.1 and DOMAIN

# Like upstream: DOMAIN alone decides. "localhost" runs on http and its URLs carry PORT (default
# 80); any other domain is https and bare (PORT then only feeds a reverse proxy).
PORT = int(env("PORT", "80") or 80)
if DOMAIN == "localhost":
    PROTOCOL = "http"
    NETLOC = f"{DOMAIN}:{PORT}"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
else:
    PROTOCOL = "https"
    NETLOC = DOMAIN
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
BASE_URL = f"{PROTOCOL}://{NETLOC}"
CSRF_TRUSTED_ORIGINS = [BASE_URL]

INSTALLED_APPS = [
    # admin brings its own static files, so collectstatic has a realistic amount to do
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bookwyrm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bookwyrm.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "bookwyrm.urls"
WSGI_APPLICATION = "bookwyrm.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.static",
                "django.template.context_processors.media",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bookwyrm.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("POSTGRES_DB", "bookwyrm"),
        "USER": env("POSTGRES_USER", "bookwyrm"),
        "PASSWORD": env("POSTGRES_PASSWORD", ""),
        "HOST": env("POSTGRES_HOST", "db"),
        "PORT": env("PGPORT", "5432"),
    }
}

# Celery (app "celerywyrm") uses the broker redis, like upstream.
REDIS_BROKER_HOST = env("REDIS_BROKER_HOST", "redis_broker")
REDIS_BROKER_PORT = env("REDIS_BROKER_PORT", "6379")
REDIS_BROKER_PASSWORD = quote(env("REDIS_BROKER_PASSWORD", "") or "", safe="")
CELERY_BROKER_URL = f"redis://:{REDIS_BROKER_PASSWORD}@{REDIS_BROKER_HOST}:{REDIS_BROKER_PORT}/0"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True

# Django's cache (rendered template fragments, sessions) is redis on REDIS_ACTIVITY_*, like
# upstream: the service redis_activity, appendonly, which a restart of the app services keeps.
# Instance directories laid out before redis_activity existed have no REDIS_ACTIVITY_HOST: they
# cache nothing (as the stand-in did before) instead of failing.
REDIS_ACTIVITY_HOST = env("REDIS_ACTIVITY_HOST")
REDIS_ACTIVITY_PORT = env("REDIS_ACTIVITY_PORT", "6379")
REDIS_ACTIVITY_PASSWORD = quote(env("REDIS_ACTIVITY_PASSWORD", "") or "", safe="")
REDIS_ACTIVITY_DB_INDEX = env("REDIS_ACTIVITY_DB_INDEX", "0")
REDIS_ACTIVITY_URL = env(
    "REDIS_ACTIVITY_URL",
    f"redis://:{REDIS_ACTIVITY_PASSWORD}@{REDIS_ACTIVITY_HOST}:{REDIS_ACTIVITY_PORT}/{REDIS_ACTIVITY_DB_INDEX}",
)
CACHE_KEY_PREFIX = "django_cache"
if REDIS_ACTIVITY_HOST or env("REDIS_ACTIVITY_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_ACTIVITY_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# Like upstream's imagekit thumbnails: each cover also gets small renditions under thumbnails/.
ENABLE_THUMBNAIL_GENERATION = env_bool("ENABLE_THUMBNAIL_GENERATION", False)

LANGUAGE_CODE = env("LANGUAGE_CODE", "en-us")
LANGUAGES = [("en-us", "English"), ("de-de", "Deutsch")]
TIME_ZONE = "UTC"
USE_TZ = True

# --- Storage: static files, media ("images") and exports ------------------------------
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "static"))
MEDIA_ROOT = env("MEDIA_ROOT", str(BASE_DIR / "images"))
EXPORTS_ROOT = str(BASE_DIR / "exports")

USE_S3 = env_bool("USE_S3", False)
USE_S3_FOR_EXPORTS = env_bool("USE_S3_FOR_EXPORTS", False)

AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", "")
AWS_S3_ENDPOINT_URL = env_or_none("AWS_S3_ENDPOINT_URL")
AWS_S3_CUSTOM_DOMAIN = env_or_none("AWS_S3_CUSTOM_DOMAIN")
AWS_S3_URL_PROTOCOL = env("AWS_S3_URL_PROTOCOL", f"{PROTOCOL}:")
# Default "public-read"; an explicitly empty value means "send no ACL at all" (providers
# that reject ACLs, e.g. Backblaze B2 or AWS buckets with ACLs disabled).
AWS_DEFAULT_ACL = env("AWS_DEFAULT_ACL", "public-read") or None
AWS_S3_OBJECT_PARAMETERS = {"CacheControl": "max-age=86400"}

EXPORTS_STORAGE_BUCKET_NAME = env("EXPORTS_STORAGE_BUCKET_NAME")
EXPORTS_ACCESS_KEY_ID = env("EXPORTS_ACCESS_KEY_ID") or AWS_ACCESS_KEY_ID
EXPORTS_SECRET_ACCESS_KEY = env("EXPORTS_SECRET_ACCESS_KEY") or AWS_SECRET_ACCESS_KEY
EXPORTS_S3_REGION_NAME = env("EXPORTS_S3_REGION_NAME") or AWS_S3_REGION_NAME
EXPORTS_S3_ENDPOINT_URL = env_or_none("EXPORTS_S3_ENDPOINT_URL") or AWS_S3_ENDPOINT_URL
# Like upstream: the custom domain alone does not fall back (signed URLs go to the endpoint).
EXPORTS_S3_CUSTOM_DOMAIN = env_or_none("EXPORTS_S3_CUSTOM_DOMAIN")
S3_SIGNED_URL_EXPIRY = int(env("S3_SIGNED_URL_EXPIRY", "900") or 900)

if USE_S3:
    # Built unconditionally like upstream: without a custom domain this is https://None/...
    STATIC_URL = f"{AWS_S3_URL_PROTOCOL}//{AWS_S3_CUSTOM_DOMAIN}/static/"
    MEDIA_URL = f"{AWS_S3_URL_PROTOCOL}//{AWS_S3_CUSTOM_DOMAIN}/images/"
    STATIC_BACKEND = "bookwyrm.storage_backends.StaticStorage"
    MEDIA_BACKEND = "bookwyrm.storage_backends.ImagesStorage"
else:
    STATIC_URL = "/static/"
    MEDIA_URL = "/images/"
    STATIC_BACKEND = "django.contrib.staticfiles.storage.StaticFilesStorage"
    MEDIA_BACKEND = "django.core.files.storage.FileSystemStorage"

STORAGES = {
    "default": {"BACKEND": MEDIA_BACKEND},
    "staticfiles": {"BACKEND": STATIC_BACKEND},
    "exports": {
        "BACKEND": "bookwyrm.storage_backends.ExportsS3Storage"
        if USE_S3_FOR_EXPORTS
        else "bookwyrm.storage_backends.ExportsFileStorage"
    },
}

# Content-Security-Policy sources (upstream uses django-csp; we only emit the header).
CSP_ADDITIONAL_HOSTS = (env("CSP_ADDITIONAL_HOSTS", "") or "").replace(",", " ").split()
CSP_STORAGE_HOSTS = [AWS_S3_CUSTOM_DOMAIN] if USE_S3 and AWS_S3_CUSTOM_DOMAIN else []
CSP_DEFAULT_SRC = ["'self'", *CSP_STORAGE_HOSTS, *CSP_ADDITIONAL_HOSTS]
