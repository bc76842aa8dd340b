"""`manage.py check --deploy` is clean with a production environment, and the HTTPS
settings follow DEBUG and the proxy variables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_REDIRECT_EXEMPT, "
    "s.SECURE_PROXY_SSL_HEADER, s.CSRF_TRUSTED_ORIGINS, s.AXES_IPWARE_PROXY_COUNT, "
    "s.AXES_IPWARE_META_PRECEDENCE_ORDER)"
)


def production_env(**extra: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "CSRF_", "CELERY_", "DATABASE_"))
        and key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "FERNET_KEYS",
            "ALLOWED_HOSTS",
            "TRUSTED_PROXY_COUNT",
            "SITE_URL",
            "OAUTH_REDIRECT_BASE",
        }
    }
    env.update(
        DJANGO_SETTINGS_MODULE="yaypay_mail.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        FERNET_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="mail.yaypay.example",
        SITE_URL="https://mail.yaypay.example",
        DATABASE_URL="sqlite:////tmp/yaypay-deploy-check.sqlite3",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        DEFAULT_GATEWAY_URL="smtp+tls://relay:secret@smtp.yaypay.example:587",
    )
    env.update(extra)
    return env


def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_issues():
    result = run("manage.py", "check", "--deploy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."


def test_production_turns_on_https_only():
    result = run("-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == (
        "True 31536000 True True True ['^healthz$'] None [] None ('REMOTE_ADDR',)".split()
    )


def test_behind_a_proxy_the_forwarded_headers_are_trusted():
    result = run(
        "-c",
        PRINT_SETTINGS,
        TRUSTED_PROXY_COUNT="2",
        CSRF_TRUSTED_ORIGINS="https://mail.yaypay.example,https://app.yaypay.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(
        "('HTTP_X_FORWARDED_PROTO', 'https') "
        "['https://mail.yaypay.example', 'https://app.yaypay.example'] "
        "1 ('HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR')"
    )


def test_the_proxy_ssl_header_can_be_named_or_refused():
    named = run("-c", PRINT_SETTINGS, SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SCHEME,https")
    assert "('HTTP_X_FORWARDED_SCHEME', 'https')" in named.stdout
    bad = run("-c", PRINT_SETTINGS, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert bad.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO,https" in bad.stderr


def test_production_needs_the_public_site_url():
    missing = run("-c", PRINT_SETTINGS, SITE_URL="")
    assert missing.returncode != 0
    assert "SITE_URL must be set when DEBUG is off" in missing.stderr
    for bad in ("mail.yaypay.example", "ftp://mail.yaypay.example", "https://x.example/?a=1"):
        refused = run("-c", PRINT_SETTINGS, SITE_URL=bad)
        assert refused.returncode != 0
        assert "SITE_URL must be the public base URL" in refused.stderr
    given = run(
        "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)",
        SITE_URL="https://mail.yaypay.example/",
    )
    assert given.stdout.strip() == "https://mail.yaypay.example"


def test_healthz_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/healthz").status_code != 301
