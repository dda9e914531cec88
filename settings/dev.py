"""Local development: the embedded default (SQLite, eager Celery) unless the environment says otherwise."""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
WHITENOISE_AUTOREFRESH = True
