"""What a person running `make run` reads on the console: each 4xx once and without a
traceback, no ERROR for a /healthz that is not ready yet, no kombu warning."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PAGE = "/settings/email/outgoing/"  # admins only


def run_python(code: str, **env: str) -> str:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "yaypay_mail.settings", **env}
    environment.pop("LOG_FORMAT", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def test_a_collectors_403_is_left_to_runservers_own_line_in_development(collector_client_a, caplog):
    with caplog.at_level(logging.INFO):
        response = collector_client_a.get(SETTINGS_PAGE)
    assert response.status_code == 403
    assert [r for r in caplog.records if r.name == "django.request"] == []


PRODUCTION_403 = """
import django, logging
django.setup()
from django.core.exceptions import PermissionDenied
try:
    raise PermissionDenied
except PermissionDenied:
    logging.getLogger("django.request").warning(
        "Forbidden (Permission denied): %s", "/settings/", exc_info=True,
        extra={"status_code": 403},
    )
"""


def test_in_production_a_403_is_one_line_without_a_traceback():
    output = run_python(
        PRODUCTION_403,
        DEBUG="false",
        SECRET_KEY="s" * 50,
        FERNET_KEYS="a1lGd0VtWm9yYjNoOUxpa1ZfS1p2d3l4M0JVR2tGc3E=",
        CELERY_EAGER="1",
        SITE_URL="https://mail.yaypay.example",
    )
    lines = [line for line in output.splitlines() if "Forbidden" in line]
    assert len(lines) == 1 and " WARNING django.request " in lines[0]
    assert "Traceback" not in output and "PermissionDenied" not in output


def test_a_healthz_that_is_not_ready_is_one_warning_not_an_error(db, caplog):
    with caplog.at_level(logging.INFO):
        response = Client().get("/healthz")
    assert response.status_code == 503  # beat never ticked
    assert [r.levelname for r in caplog.records if r.levelno >= logging.ERROR] == []
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.name == "ops.views" and warning.beat == response.json()["beat"]


RUNSERVER_LINES = """
import django, logging
django.setup()
server = logging.getLogger("django.server")
server.error('"%s" %s %s', "GET /healthz HTTP/1.1", "503", "52", extra={"status_code": 503})
server.error('"%s" %s %s', "GET /reports/ HTTP/1.1", "500", "52", extra={"status_code": 500})
server.info('"%s" %s %s', "GET / HTTP/1.1", "200", "52", extra={"status_code": 200})
"""


def test_runservers_healthz_503_is_a_warning_and_other_lines_stay():
    lines = run_python(RUNSERVER_LINES).splitlines()
    assert [line.split(" ")[2:5] for line in lines] == [
        ["WARNING", "django.server", '"GET'],
        ["ERROR", "django.server", '"GET'],
        ["INFO", "django.server", '"GET'],
    ]


PUBLISH = """
import django
django.setup()
from yaypay_mail.celery import app
app.connection_for_write()._info()
print(app.conf.broker_url)
"""


def test_kombu_gets_a_host_name_with_or_without_a_broker_url():
    for url, expected in (
        ("", "memory://localhost/"),
        ("filesystem://", "filesystem://localhost/"),
    ):
        output = run_python(PUBLISH, CELERY_BROKER_URL=url)
        assert "No hostname" not in output
        assert output.strip().endswith(expected)
