"""Test settings: the real PostgreSQL unless DATABASE_URL says otherwise."""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/community_scoring")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES, REST_FRAMEWORK  # noqa: E402

DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"token": "100000/min"}
# No collectstatic in tests: let whitenoise find files lazily instead of warning about an empty STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
# Each test rolls its transaction back, which sends no signal: a per-process cache of DiscourseInstance sources
# would outlive the rows of the test that filled it. Tests of the cache turn it on themselves.
INGEST_RESERVED_SOURCES_CACHE_SECONDS = 0
INTEREST_SCORING_LINGER = 0  # tests that need it set their own
# Anonymous and failed-auth callers all come from 127.0.0.1 here: the tests of those limits set their own rates.
API_ANON_THROTTLE_RATE = "100000/min"
API_FAILED_AUTH_THROTTLE_RATE = "100000/min"
