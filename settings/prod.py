"""Production: PostgreSQL, a real broker, secrets from the environment.

Refuses to start (ImproperlyConfigured, before any request is served) without a real secret key, the host names
it answers to and a shared cache: an empty or short key would sign sessions and CSRF tokens with a guessable secret (and Django
answers 500 to every request with an empty one), and a default host list would silently answer for localhost only.
"""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import DEVELOPMENT_SECRET_KEY, env

MIN_SECRET_KEY_LENGTH = 32

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if len(SECRET_KEY.strip()) < MIN_SECRET_KEY_LENGTH or SECRET_KEY == DEVELOPMENT_SECRET_KEY \
        or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY must be a random secret of at least {MIN_SECRET_KEY_LENGTH} characters in production "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
ALLOWED_HOSTS = [host for host in env.list("DJANGO_ALLOWED_HOSTS", default=[]) if host.strip()]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host names this site answers to in production "
                               "(comma-separated, e.g. scores.example.com).")
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):  # noqa: F405
    raise ImproperlyConfigured("CACHE_URL must name a shared cache in production (e.g. redis://127.0.0.1:6379/1): "
                               "API rate limits and token revocation must hold across every worker.")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
