"""Settings shared by every environment. Deployment differences come from environment variables."""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEVELOPMENT_SECRET_KEY = "dev-insecure-community-scoring-key"  # settings.prod refuses it
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files: /api/docs/ loads nothing from a CDN
    "django_celery_beat",
    "community_scoring",
    "community_scoring.influence",
    "community_scoring.webhooks",
    "community_scoring.outcomes",
    "community_scoring.gaming",
    "forum_integration",
]

MIDDLEWARE = [
    "community_scoring.api.unavailable.ServiceUnavailableMiddleware",  # 503 + Retry-After while PostgreSQL/Redis is down
    "community_scoring.api.limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "community_scoring.pages.access.access_context",
            ],
        },
    },
]

# Embedded default: SQLite. DATABASE_URL (e.g. postgres://user@127.0.0.1:5432/db) selects PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: it triggers on the estimated cost of the ingest statements (many CTEs) and then costs
    # ~200 ms per batch of 1,000 events, 20x what it could save (measured at 200k members).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "/accounts/login/"
# SQLite (the embedded default) builds covering indexes without their INCLUDE columns: fine there (Action's
# target index covers member and time for PostgreSQL's index-only scans at scale).
SILENCED_SYSTEM_CHECKS = ["models.W040"]
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Celery. Embedded default: no broker URL -> tasks run eagerly in-process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per kind of work, so a long recompute never delays fresh scores: a worker started without -Q takes
# every queue (one machine); in production run a worker per queue (README, "Running it for real").
# Each queue has its own exchange and routing key: a bare Queue(name) is bound with the default queue's routing
# key, and a message routed to any of them would reach all four.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name)
                      for name in ("scoring", "recompute", "influence", "webhooks")]
CELERY_TASK_DEFAULT_QUEUE = "recompute"  # anything unrouted is background work
CELERY_TASK_ROUTES = {
    "community_scoring.interest_partition_score": {"queue": "scoring"},
    "community_scoring.interest_pending_score": {"queue": "scoring"},
    "community_scoring.members_link": {"queue": "scoring"},
    "community_scoring.members_link_sweep": {"queue": "scoring"},
    "community_scoring.jobs_pending_publish": {"queue": "scoring"},  # a sweep must not wait behind a recompute
    "community_scoring.influence.tasks.*": {"queue": "influence"},
    "community_scoring.webhooks.tasks.*": {"queue": "webhooks"},
}
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
# A background job (community_scoring.jobs) still pending this long after it was created has its task published
# again by the periodic sweep (its message was lost: the broker refused it, or the process died before sending it).
JOBS_PENDING_GRACE_SECONDS = env.int("JOBS_PENDING_GRACE_SECONDS", default=600)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "community_scoring.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "community_scoring.auth.AnonymousRateLimit",  # last: callers nobody authenticated, limited per address
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSONParser that reads a body nested beyond the parser's recursion limit instead of failing (a 500).
    "DEFAULT_PARSER_CLASSES": ["community_scoring.api.renderers.DepthSafeJSONParser",
                               "rest_framework.parsers.FormParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["community_scoring.auth.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_THROTTLE_RATE", default="6000/min")},
    "EXCEPTION_HANDLER": "community_scoring.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Community Scoring API",
    "DESCRIPTION": "Interest and influence scores for community members.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Group operations by resource (members, leaderboards, config, ...) rather than all under "v1".
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Anonymous callers get 401 everywhere under /api/, the schema included; /api/docs/ (a page for people, see
    # community_scoring/api/views/docs.py) sends an anonymous browser to sign in instead.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's and Redoc's files come from drf-spectacular-sidecar, through the project's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validatorUrl: Swagger UI would otherwise fetch a badge from validator.swagger.io on any non-local host.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The default enum hook, then the 413 of the request body limit on every operation that takes a body.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "community_scoring.api.limits.body_limit_documented"],
}

SESSION_ENGINE = "community_scoring.sessions"  # database sessions; a malformed cookie is no session, not an error

# Discourse: single-instance secret (per-instance secrets live in the admin).
DISCOURSE_WEBHOOK_SECRET = env("DISCOURSE_WEBHOOK_SECRET", default="")

# Ingest (issue 3). Per-token rate for POST /api/v1/events/. INGEST_ASYNC_COMMIT=true makes ingest transactions
# commit without waiting for the WAL flush (PostgreSQL synchronous_commit=off): much higher single-event
# throughput, but a server crash can lose the last fraction of a second of acknowledged events. Off by default.
API_INGEST_THROTTLE_RATE = env("API_INGEST_THROTTLE_RATE", default="120000/min")
# Callers without valid credentials, per client address: anonymous requests, and wrong or revoked tokens.
API_ANON_THROTTLE_RATE = env("API_ANON_THROTTLE_RATE", default="120/min")
API_FAILED_AUTH_THROTTLE_RATE = env("API_FAILED_AUTH_THROTTLE_RATE", default="60/min")
# The cache throttles and the token revocation generation live in: per process by default (dev, tests); a shared
# one (redis://127.0.0.1:6379/1) in production, which settings.prod requires, so limits hold across workers.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "community_scoring.cache.RedisCache"  # one client per pool, not per call
INGEST_ASYNC_COMMIT = env.bool("INGEST_ASYNC_COMMIT", default=False)
# Scorers that may run at once on PostgreSQL, each for its own share of the members (member id modulo this):
# one per core keeps every core busy scoring (services.interest_queue). 1 scores everything in one pass.
INTEREST_SCORERS = env.int("INTEREST_SCORERS", default=2)
# Who scores an ingested batch's actions (services.interest_queue): "inline", the request, after its commit and
# before it answers; "worker", a Celery task (the batch answers once its actions are stored, and scores follow
# within a scoring pass; passes group every batch queued meanwhile, which is what keeps up with heavy ingest).
# Default: inline when Celery runs eagerly (no broker), worker with a broker.
INTEREST_SCORING = env("INTEREST_SCORING", default="inline" if CELERY_TASK_ALWAYS_EAGER else "worker")
# worker: seconds a scorer task holds its partition before its first pass (and after a pass that found less
# than a full pass), so that batches stored meanwhile join that pass: fewer, larger passes cost less per event.
INTEREST_SCORING_LINGER = env.float("INTEREST_SCORING_LINGER", default=0.5)
if INTEREST_SCORING not in ("inline", "worker"):
    raise ImproperlyConfigured(f"INTEREST_SCORING must be 'inline' or 'worker', not {INTEREST_SCORING!r}")
# API tokens are cached per process for this many seconds (community_scoring.auth): a token revoked in one
# gunicorn worker stays valid in the others for at most this long. 0 disables the cache.
API_TOKEN_CACHE_SECONDS = env.float("API_TOKEN_CACHE_SECONDS", default=5)
# The sources reserved for the built-in integrations (forum, Discourse instances) are cached per process the same
# way: a Discourse instance added in one worker is reserved in the others within this many seconds. 0 disables.
INGEST_RESERVED_SOURCES_CACHE_SECONDS = env.float("INGEST_RESERVED_SOURCES_CACHE_SECONDS", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
FORMS_URLFIELD_ASSUME_HTTPS = True

# Outcome types that count as a conversion in the quality report, calibration and experiments (a request may name
# its own set). "converted" covers every custom conversion (trial, purchase...); "converted:trial" names one.
OUTCOME_CONVERSION_TYPES = env.list("OUTCOME_CONVERSION_TYPES", default=["converted", "won", "sql", "sales_accepted"])
# The stage that makes a member a marketing-qualified lead (it and every stage above it): quality report,
# calibration and experiments count MQLs with it.
OUTCOME_MQL_STAGE = env("OUTCOME_MQL_STAGE", default="MQL")

# The largest request body accepted (413 above it): a full batch of 1,000 events with ordinary texts is ~1 MB.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# How many new MQLs sales can take a week: the quality report draws the weekly MQL volume against it (a request
# may name its own with ?capacity=).
OUTCOME_SALES_CAPACITY_PER_WEEK = env.float("OUTCOME_SALES_CAPACITY_PER_WEEK", default=25)
