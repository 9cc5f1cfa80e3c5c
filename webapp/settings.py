"""Django settings, read from the environment (see README "Configuration").

Production defaults are the safe ones: DEBUG off, a SECRET_KEY required, secure cookies,
HSTS. The development run command (`make run`) sets DEBUG=1 and a generated key.
"""

from pathlib import Path

import dj_database_url

from webapp.env import ConfigError, env_bool, env_int, env_list, env_paths, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off (production).")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where the platform writes: thumbnails, tile stores, manifests, checkpoints.
DATA_ROOT = Path(env_str("DATA_ROOT", str(BASE_DIR / ".data" / "files"))).resolve()
# Folders under which an admin may register slide roots; empty means any folder (development).
SLIDE_ROOTS = env_paths("SLIDE_ROOTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "webapp.core",
    "webapp.accounts",
    "webapp.slides",
    "webapp.tagging",
    "webapp.audit",
    "webapp.tiling",
    "webapp.clusters",
    "webapp.datasets",
    "webapp.training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, which answers static files itself: they get the header too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rudolfv")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ConfigError("DATABASE_URL must point at PostgreSQL (postgresql://...).")

# Redis serves as Celery broker, result backend and the deep-zoom tile cache.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 6 * 3600 - 60)
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {
    "slides.*": {"queue": "io"},
    "tiling.*": {"queue": "cpu"},
    # Any worker may serve gpu: clustering falls back to the CPU when FAISS/torch see no GPU.
    "clusters.*": {"queue": "gpu"},
    "datasets.*": {"queue": "cpu"},
    # Training needs a GPU worker in production; the trainer falls back to the CPU (smoke runs).
    "training.*": {"queue": "gpu"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A cluster run over the whole archive (embedding and assigning 1.25B tiles) outlasts the
# default limit; it is one task with resumable phases.
CLUSTER_TASK_TIME_LIMIT = env_int("CLUSTER_TASK_TIME_LIMIT", 72 * 3600)
# A pretraining run (the paper's 625k steps) takes weeks; it is one task that resumes from
# its last checkpoint when redelivered.
TRAINING_TASK_TIME_LIMIT = env_int("TRAINING_TASK_TIME_LIMIT", 30 * 24 * 3600)
# A visibility timeout longer than the longest task, so Redis does not redeliver running work.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(
        CELERY_TASK_TIME_LIMIT, CLUSTER_TASK_TIME_LIMIT, TRAINING_TASK_TIME_LIMIT
    )
    + 600
}

CACHES = {
    "default": {
        "BACKEND": "webapp.core.cache.ReusingRedisCache",
        "LOCATION": env_str("CACHE_URL", REDIS_URL),
        "TIMEOUT": env_int("TILE_CACHE_SECONDS", 7 * 24 * 3600),
        "KEY_PREFIX": "rudolfv",
    }
}

# Deep zoom: tile geometry and the per-process LRU of open slides.
DEEPZOOM_TILE_SIZE = env_int("DEEPZOOM_TILE_SIZE", 254)
DEEPZOOM_OVERLAP = env_int("DEEPZOOM_OVERLAP", 1)
DEEPZOOM_JPEG_QUALITY = env_int("DEEPZOOM_JPEG_QUALITY", 80)
SLIDE_HANDLE_CACHE_SIZE = env_int("SLIDE_HANDLE_CACHE_SIZE", 64)
TOKEN_CACHE_SECONDS = env_int("TOKEN_CACHE_SECONDS", 60)
DEEPZOOM_SLIDE_TTL = env_int("DEEPZOOM_SLIDE_TTL", 10)  # seconds a web process trusts its copy
SCAN_CHUNK_SIZE = env_int("SCAN_CHUNK_SIZE", 25)

# Cluster runs: a running run whose heartbeat is older than this is shown as interrupted.
CLUSTER_HEARTBEAT_STALE_S = env_int("CLUSTER_HEARTBEAT_STALE_S", 300)
CLUSTER_HEARTBEAT_EVERY_S = env_int("CLUSTER_HEARTBEAT_EVERY_S", 20)
# Dataset builds and exports: the same for their heartbeats (stale: failed / interrupted).
DATASET_HEARTBEAT_STALE_S = env_int("DATASET_HEARTBEAT_STALE_S", 300)
DATASET_HEARTBEAT_EVERY_S = env_int("DATASET_HEARTBEAT_EVERY_S", 20)
# Training runs: the worker polls the trainer's files every TRAINING_POLL_S seconds, beats at
# least every TRAINING_HEARTBEAT_EVERY_S; a stale heartbeat shows the run as interrupted.
TRAINING_HEARTBEAT_EVERY_S = env_int("TRAINING_HEARTBEAT_EVERY_S", 10)
TRAINING_HEARTBEAT_STALE_S = env_int("TRAINING_HEARTBEAT_STALE_S", 300)
try:
    TRAINING_POLL_S = float(env_str("TRAINING_POLL_S", "1.0"))
except ValueError as exc:
    raise ConfigError("TRAINING_POLL_S must be a number of seconds.") from exc
# Data-loading processes per trainer process (--workers).
TRAINING_DATA_WORKERS = env_int("TRAINING_DATA_WORKERS", 2)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / ".data" / "static")))
FRONTEND_DIST = Path(env_str("FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist")))
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.accounts.authentication.ApiTokenAuthentication",
        "webapp.accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["webapp.accounts.permissions.IsActiveUser"],
    "DEFAULT_PAGINATION_CLASS": "webapp.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "webapp.core.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_THROTTLE_RATE", "10/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RudolfV platform API",
    "DESCRIPTION": "Slides, pathologist curation, tile clusters, datasets and training runs.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SlideStatusEnum": "webapp.slides.models.SlideStatus",
        "ScanStatusEnum": "webapp.slides.models.ScanStatus",
        "RoleEnum": "webapp.accounts.models.Role",
        "ReviewStatusEnum": "webapp.slides.models.ReviewStatus",
        "RunStatusEnum": "webapp.core.status.RunStatus",
        "ClusterStatusEnum": "webapp.clusters.models.ClusterStatus",
    },
}

# Security: production-safe unless DEBUG (or explicitly relaxed behind a TLS proxy setup).
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
# Sessions read from Redis (written through to PostgreSQL): no session query per tile.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
