"""The one settings module, read from the environment (see .env.example).

Harmless values have development defaults. With PRODUCTION=true the app refuses to start
without a SECRET_KEY, with DEBUG on, or without ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env.bool("PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("PRODUCTION=true with DEBUG on: set DEBUG=false.")
    if not env.str("SECRET_KEY", default=""):
        raise ImproperlyConfigured("PRODUCTION=true needs SECRET_KEY in the environment.")
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "accounts",
    "credits",
    "reports",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's (or the language cookie), then a person's saved choice.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "partnercredit.middleware.refuse_nul_parameters",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "notifications.middleware.preferred_language",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "partnercredit.urls"
WSGI_APPLICATION = "partnercredit.wsgi.application"

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
            ],
        },
    },
]

# An empty DATABASE_URL (as in .env.example) means the default SQLite file.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that a worker process in tests can open the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The program time zone: every credit day is a calendar day here (SPEC §3).
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on a missing root before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "reports:home"  # where login lands; the admin is one click away
# The home page lists a client as at risk when its credit ends within this many days.
AT_RISK_DAYS = env.int("AT_RISK_DAYS", default=14)

# --- Celery -------------------------------------------------------------------------------
# With REDIS_URL set, Redis is the broker and result store (production, CI). Without it, an
# embedded filesystem broker under var/ lets the default run have a real worker and beat.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
    }
    CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
# Task modules that autodiscovery (each app's tasks.py) does not find; workers import them.
CELERY_IMPORTS = ["credits.import_tasks"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Every night at two in the morning, program time: compute the day that just ended.
    "nightly-recompute": {
        "task": "credits.tasks.recompute_nightly",
        "schedule": crontab(hour=2, minute=0),
    },
    # Every five minutes: send again any recompute whose dispatch was lost (broker down).
    "requeue-lost-recomputes": {
        "task": "credits.tasks.recompute_requeue",
        "schedule": crontab(minute="*/5"),
    },
    # Every day at seven in the morning, program time (after the nightly run): the e-mails due
    # today — the weekly digest on Monday (or the first day of the week whose results are
    # fresh), credited-tier notices, and staff alerts. Each goes out once, however often it runs.
    "send-notifications": {
        "task": "notifications.tasks.send_notifications",
        "schedule": crontab(hour=7, minute=0),
    },
}
# Chunks of client accounts per parallel recompute task.
RECOMPUTE_CHUNKS = env.int("RECOMPUTE_CHUNKS", default=8)
# A queued or running recompute without a heartbeat for this long is abandoned (worker died).
RECOMPUTE_STALE_SECONDS = env.int("RECOMPUTE_STALE_SECONDS", default=900)

# --- E-mail and notifications (issue 15) ------------------------------------------------------
# EMAIL_URL: consolemail:// (default: printed on stdout), smtp+tls://user:pass@host:587,
# smtp+ssl://user:pass@host:465, smtp://host:25 (django-environ's email URL).
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="partnercredit <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The absolute address of the app, for the links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The digest lists clients whose credit ends within this many days.
NOTIFY_CREDIT_ENDING_DAYS = env.int("NOTIFY_CREDIT_ENDING_DAYS", default=14)

# --- Languages (issue 15) ----------------------------------------------------------------------
# English and Italian; each person's choice (their settings page) wins over the browser's.
# The catalogue is locale/it/LC_MESSAGES/django.po, compiled by `make install`; dates and
# numbers on pages follow the language (English days stay ISO), CSV exports never do.
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["partnercredit.formats"]

# --- Login throttling (django-axes) ---------------------------------------------------------
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# --- Production hardening -------------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Load balancers probe over plain HTTP; the health check answers there instead of redirecting.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # collectstatic writes here and whitenoise serves from here (default: var/static).
    STATIC_ROOT = env.path("STATIC_ROOT", default=STATIC_ROOT)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
