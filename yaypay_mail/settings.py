"""One settings module; every knob comes from the environment (django-environ).

Each variable has a development default that works on a fresh machine. Where a
default would be unsafe in production (DEBUG off), start-up stops and says why.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from yaypay_mail.proxies import ipware_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
# A fixed development key, so a fresh clone can save an SMTP password at once.
_DEV_FERNET_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS1ub3Qtc2VjcmV0ISE="

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

FERNET_KEYS = env.list("FERNET_KEYS", default=[])
if not FERNET_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FERNET_KEYS must be set when DEBUG is off: comma-separated Fernet keys, newest first "
            '(make one with python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())").'
        )
    FERNET_KEYS = [_DEV_FERNET_KEY]
elif not DEBUG and _DEV_FERNET_KEY in FERNET_KEYS:
    raise ImproperlyConfigured("FERNET_KEYS holds the public development key; generate your own.")


def _check_fernet_keys(keys: list[str]) -> None:
    """Refuse to start on a malformed key, naming its position, never its value: a bad
    key would otherwise crash every worker batch that touches a secret."""
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FERNET_KEYS: key number {position} of {len(keys)} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None


_check_fernet_keys(FERNET_KEYS)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])


def _parse_site_url(value: str) -> str:
    """SITE_URL as scheme://host[:port][/path], without a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            "SITE_URL must be the public base URL, like https://mail.example.com."
        )
    return value.rstrip("/")


# Every link in an email, and the OAuth redirect default, start with this; never with the
# request's Host header, which the client chooses (a reset link to an attacker's port).
SITE_URL = env.str("SITE_URL", default="")
if not SITE_URL:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SITE_URL must be set when DEBUG is off: the public base URL that links in emails "
            "use, like https://mail.example.com."
        )
    SITE_URL = "http://127.0.0.1:8000"
SITE_URL = _parse_site_url(SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "yaypay_mail",
    "routes",
    "outbox",
    "dunning",
    "settings_app",
    "communications",
    "statements",
    "accounts",
    "ops",
    "imports",
    "ninja",  # its static files: the API docs page served without a CDN
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "yaypay_mail.tenancy.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "accounts.login_limit.LoginAddressLimitMiddleware",
]

if not DEBUG:
    # runserver serves static files in development; WhiteNoise does in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "yaypay_mail.urls"

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
                "yaypay_mail.tenancy.tenant_context",
                "communications.context_processors.tenant_time_zone",
            ],
        },
    },
]

WSGI_APPLICATION = "yaypay_mail.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web process share the file; wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # A file, not memory, so that workers on their own connections race for real in tests.
    # One per process, so that two test runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"yaypay_test_{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "yaypay_mail.auth.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Login attempts (docs/security.md): axes locks an (account, client address) pair after
# AXES_FAILURE_LIMIT failures; never an account alone, which anyone could lock out.
# A success resets only that pair. Separately, accounts.login_limit answers 429 to an
# address after LOGIN_IP_FAILURE_LIMIT failures across all accounts; no success resets it.
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=50)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = LOGIN_FAILURE_WINDOW
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "yaypay_mail.auth.normalised_login"
# The client's address through ipware, an IPv6 client counted by its /64.
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_key"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no start-up banner in every process
# Reverse proxies in front of the app (0: X-Forwarded-For is never read).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
globals().update(ipware_settings(TRUSTED_PROXY_COUNT))

# Password reset requests per hour, per client address and per target address.
PASSWORD_RESET_IP_LIMIT = env.int("PASSWORD_RESET_IP_LIMIT", default=20)
PASSWORD_RESET_EMAIL_LIMIT = env.int("PASSWORD_RESET_EMAIL_LIMIT", default=5)

# CSV imports: a larger file is refused before it is read (docs/imports.md).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)

# REST API requests per token per minute (a fixed window counted in the database).
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".run" / "static"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# With DEBUG off, HTTPS only (`check --deploy` is clean); the load balancer probes
# /healthz over plain HTTP, so that path is not redirected.
SECURE_SSL_REDIRECT = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading writes the whole domain into browsers for months; the operator opts in with
# SECURE_HSTS_PRELOAD=1 when submitting it to hstspreload.org, else W021 is silenced.
SECURE_HSTS_PRELOAD = not DEBUG and env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]
# Behind TLS-terminating proxies: "HEADER,value" (the proxy must overwrite that header);
# by default X-Forwarded-Proto when TRUSTED_PROXY_COUNT > 0; set it empty to turn it off.
_PROXY_SSL_HEADER = env.str(
    "SECURE_PROXY_SSL_HEADER",
    default="HTTP_X_FORWARDED_PROTO,https" if TRUSTED_PROXY_COUNT else "",
)
if _PROXY_SSL_HEADER:
    _header, _, _value = (part.strip() for part in _PROXY_SSL_HEADER.partition(","))
    if not _header.startswith("HTTP_") or not _value:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = (_header, _value)
# Origins (scheme://host[:port]) allowed to POST besides ALLOWED_HOSTS, comma-separated.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Masks connection URLs (they may carry passwords) on the debug page, besides
# Django's own KEY/SECRET/PASS names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "yaypay_mail.debug.MaskingExceptionReporterFilter"

# LOG_FORMAT=json: one JSON object a line (timestamp, level, logger, message and every
# `extra` field); otherwise plain text with the extras appended as key=value (ops.logging).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "ops.logging.PlainFormatter"},
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "filters": {
        # Each 4xx once, without a traceback; in development runserver logs it already.
        "client_errors": {"()": "ops.logging.ClientErrors", "drop": DEBUG},
        "health_probes": {"()": "ops.logging.HealthProbes"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Only through the root handler: Django's own "django" console handler printed
        # each of its records a second time in development.
        "django": {"level": "INFO"},
        "django.request": {"filters": ["client_errors"]},
        # runserver's request lines, in our format.
        "django.server": {
            "handlers": ["console"],
            "filters": ["health_probes"],
            "propagate": False,
        },
        # Lockouts stay (WARNING); every successful login and attempt clean-up does not.
        "axes": {"level": "WARNING"},
        # One INFO line per provider request (URL and status); outcomes are logged by us.
        "httpx2": {"level": "WARNING"},
        "httpcore2": {"level": "WARNING"},
        # In development, beat's ticks every 15 s would bury the lines that matter.
        **(
            {
                name: {"level": "WARNING"}
                for name in (
                    "celery.beat",
                    "celery.app.trace",
                    "celery.worker.strategy",
                    # runserver prints this line itself too.
                    "django.utils.autoreload",
                )
            }
            if DEBUG
            else {}
        ),
    },
}

# --- Celery -------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process: right for tests and commands, not for a
# production web process, which must then say so explicitly.
CELERY_EAGER = env.bool("CELERY_EAGER", default=False)
if not DEBUG and not CELERY_BROKER_URL and not CELERY_EAGER:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be set when DEBUG is off (or set CELERY_EAGER=1 to run tasks "
        "in-process, without workers)."
    )
# Redis re-delivers an unacknowledged task after this long; tasks finish well within it.
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# A host name in every URL: kombu warns "No hostname was supplied" about memory:// and
# filesystem:// without one (the README's `CELERY_BROKER_URL=filesystem://`).
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
elif CELERY_BROKER_URL in ("memory://", "filesystem://"):
    CELERY_BROKER_URL += "localhost/"
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL  # Celery reads the variable first
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A broker that is down must not hold a page for long: the change is committed and
    # beat's drain delivers it anyway.
    CELERY_BROKER_TRANSPORT_OPTIONS |= {"socket_connect_timeout": 2, "socket_timeout": 5}
elif CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = BASE_DIR / ".run" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 3600
CELERY_BEAT_SCHEDULE = {
    "drain-due-mail": {"task": "outbox.tasks.drain_due_mail", "schedule": 60.0},
    "reap-expired-leases": {"task": "outbox.tasks.reap_expired_leases", "schedule": 15.0},
    # The Dashboard's status counts: rows changed without a flush. A late tick is dropped.
    "sweep-status-counts": {
        "task": "outbox.tasks.sweep_status_counts",
        "schedule": 15.0,
        "options": {"expires": 60},
    },
    "schedule-daily-reminders": {
        "task": "dunning.tasks.schedule_daily_reminders",
        "schedule": 60.0,
    },
    # An import's check whose publish failed (broker down) or whose worker died.
    "resend-stalled-imports": {
        "task": "imports.tasks.resend_stalled_imports",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Proves beat and a worker alive to /healthz; a tick not run within a minute is dropped.
    "beat-heartbeat": {
        "task": "ops.tasks.beat_heartbeat",
        "schedule": 15.0,
        "options": {"expires": 60},
    },
}

# --- Outgoing email -----------------------------------------------------------


def _parse_gateway_url(url: str) -> dict:
    """Split DEFAULT_GATEWAY_URL; plain smtp:// only to a loopback relay or catcher."""
    parts = urlsplit(url)
    encryption = {"smtp": "none", "smtp+tls": "tls", "smtps": "ssl"}.get(parts.scheme)
    if encryption is None or not parts.hostname:
        raise ImproperlyConfigured(
            "DEFAULT_GATEWAY_URL must look like smtp://host:port, smtp+tls://user:password@host:587 "
            "or smtps://user:password@host:465."
        )
    if encryption == "none":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if not loopback:
            raise ImproperlyConfigured(
                "DEFAULT_GATEWAY_URL uses plain smtp:// to a host that is not loopback; "
                "use smtp+tls:// or smtps:// so that mail and credentials travel encrypted."
            )
    default_port = {"none": 25, "tls": 587, "ssl": 465}[encryption]
    return {
        "HOST": parts.hostname,
        "PORT": parts.port or default_port,
        "ENCRYPTION": encryption,
        "USERNAME": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
    }


# Only the parsed form is kept as a setting: its PASSWORD key is masked on the debug page.
DEFAULT_GATEWAY = _parse_gateway_url(
    env.str("DEFAULT_GATEWAY_URL", default="smtp://127.0.0.1:1025")
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@yaypay.com")
GATEWAY_DISPLAY_SUFFIX = "via YayPay"

SMTP_ALLOWED_PORTS = [
    int(p) for p in env.list("SMTP_ALLOWED_PORTS", default=["25", "465", "587", "2525"])
]
SMTP_HOST_ALLOWLIST = env.list("SMTP_HOST_ALLOWLIST", default=[])
SMTP_CA_FILE = env.str("SMTP_CA_FILE", default="")
SMTP_TIMEOUT = env.float("SMTP_TIMEOUT", default=10.0)
SMTP_DEADLINE = env.float("SMTP_DEADLINE", default=30.0)
SMTP_TEST_LIMIT = env.int("SMTP_TEST_LIMIT", default=20)
# Addresses one message may have in To and Cc together: checked where addresses are
# written (forms, CSV, API) and again when a message is prepared.
MAX_RECIPIENTS = env.int("MAX_RECIPIENTS", default=50)
# Recipients one tenant may reach through the shared gateway per day (its reputation is
# everyone's); what is over waits for the next day.
GATEWAY_DAILY_RECIPIENTS = env.int("GATEWAY_DAILY_RECIPIENTS", default=1000)
# `OAUTH_STANDIN=1 make run` points its processes at a local Microsoft/Google stand-in;
# a manage.py command run beside it (send_reminders) reads the same settings from the
# file the stand-in keeps while it serves (dev/standin_file.py). Never under pytest.
if DEBUG:
    try:
        from dev.standin_file import apply_to_command
    except ImportError:  # an installed copy without the development helpers
        pass
    else:
        apply_to_command(BASE_DIR, sys.argv, os.environ)
# OAuth sending (Microsoft Graph, the Gmail API). A provider whose client id is unset is
# not offered. The endpoint URLs default to the real hosts; only tests change them.
MICROSOFT_CLIENT_ID = env.str("MICROSOFT_CLIENT_ID", default="")
MICROSOFT_CLIENT_SECRET = env.str("MICROSOFT_CLIENT_SECRET", default="")
MICROSOFT_TENANT = env.str("MICROSOFT_TENANT", default="common")
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
# Where providers send the admin back: https://app.example.com (no trailing slash). Empty:
# SITE_URL.
OAUTH_REDIRECT_BASE = env.str("OAUTH_REDIRECT_BASE", default="").rstrip("/")
MICROSOFT_AUTHORITY_URL = env.str(
    "MICROSOFT_AUTHORITY_URL", default="https://login.microsoftonline.com"
).rstrip("/")
MICROSOFT_GRAPH_URL = env.str("MICROSOFT_GRAPH_URL", default="https://graph.microsoft.com").rstrip(
    "/"
)
GOOGLE_AUTH_URL = env.str("GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env.str("GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_API_URL = env.str("GOOGLE_API_URL", default="https://gmail.googleapis.com").rstrip("/")
# Timeout of each HTTPS request to a provider (token, send), in seconds; the test message
# also keeps to SMTP_DEADLINE and outbox sends to SMTP_TIMEOUT, whichever is lower.
OAUTH_HTTP_TIMEOUT = env.float("OAUTH_HTTP_TIMEOUT", default=20.0)

# A batch's lease; a heartbeat renews it every third of this while the batch is sent.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=60)


def _parse_egress_ips(value: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        label, _, address = item.rpartition("=")
        pairs.append((label.strip() or "Address", address.strip()))
    return pairs


EGRESS_IPS = _parse_egress_ips(
    env.str("EGRESS_IPS", default="Production=34.195.225.244,Development=34.228.204.221")
)
