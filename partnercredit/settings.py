"""The one settings module, read from the environment (see .env.example).

Harmless values have development defaults. With PRODUCTION=true the app refuses to start
without a SECRET_KEY, with DEBUG on, or without ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
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
    "csp.middleware.CSPMiddleware",
    "partnercredit.middleware.no_store_for_private_pages",
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
# The largest events file the admin upload accepts, and how long uploaded files are kept.
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=200)
IMPORT_KEEP_DAYS = env.int("IMPORT_KEEP_DAYS", default=30)
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
    # A dead Redis is noticed within seconds, not after the client's default retries; a task
    # not acknowledged (its worker died) is delivered again after RECOMPUTE_STALE_SECONDS.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("RECOMPUTE_STALE_SECONDS", default=900),
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
    }
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
    CELERY_REDIS_SOCKET_TIMEOUT = 10
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"timeout": 2.0}}
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
# Sending a task (a web request waits for it) gives up after about two seconds: the page says
# the broker is down and the beat sends the queued work once it is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Every night at two in the morning, program time: compute the day that just ended.
    "nightly-recompute": {
        "task": "credits.tasks.recompute_nightly",
        "schedule": crontab(hour=2, minute=0),
    },
    # Every minute: the watchdog. Fails runs whose worker died and queues them again, sends
    # runs whose dispatch was lost (broker down), moves on batches a fault left behind.
    "recompute-watchdog": {
        "task": "credits.tasks.recompute_watch",
        "schedule": env.float("RECOMPUTE_WATCH_SECONDS", default=60.0),
    },
    # Every minute: send admin imports lost in dispatch or orphaned by a dead worker.
    "recover-import-jobs": {
        "task": "credits.import_tasks.import_jobs_recover",
        "schedule": crontab(minute="*"),
    },
    # Every night: delete uploaded import files IMPORT_KEEP_DAYS after their import ended.
    "purge-import-files": {
        "task": "credits.import_tasks.import_files_purge_old",
        "schedule": crontab(hour=3, minute=30),
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
# A night recomputes at most this many stale days (oldest first) before the new day; the rest
# wait for the next night.
RECOMPUTE_MAX_CATCHUP_DAYS = env.int("RECOMPUTE_MAX_CATCHUP_DAYS", default=31)
# A message a killed worker had taken is delivered again after this long (Redis): the same
# bound as the watchdog's, so neither waits the broker's default hour.
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": RECOMPUTE_STALE_SECONDS}

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
# Behind TRUSTED_PROXY_COUNT proxies (each appending to X-Forwarded-For) the client's address is
# that many hops back; 0 (the default): REMOTE_ADDR, and the header is ignored. See
# partnercredit/throttling.py.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "partnercredit.throttling.client_ip"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None  # the same rule, if django-ipware is used
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
)
AXES_HANDLER = "partnercredit.throttling.PairAndAddressHandler"
# A username from one address after AXES_FAILURE_LIMIT failures; an address after
# AXES_IP_FAILURE_LIMIT failures over any usernames.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout are not recorded: they do not make it last longer.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

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
# Sessions end after SESSION_HOURS (default 8: a working day), however active.
SESSION_COOKIE_AGE = env.int("SESSION_HOURS", default=8) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts only from our own static files, never inline;
# a <style> block needs the request's nonce (style="" attributes stay allowed: they cannot run
# code); no plugins, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # A refused request (403) is logged as one line, without a traceback.
    "filters": {"forbidden_plain": {"()": "partnercredit.middleware.ForbiddenWithoutTraceback"}},
    "loggers": {
        "django.request": {
            "handlers": ["console"],
            "filters": ["forbidden_plain"],
            "propagate": False,
        },
        "django.security": {
            "handlers": ["console"],
            "filters": ["forbidden_plain"],
            "propagate": False,
        },
    },
}
