"""Unsafe production defaults stop the app at start-up with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "a1lGd0VtWm9yYjNoOUxpa1ZfS1p2d3l4M0JVR2tGc3E="  # any valid Fernet key


def start(**env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "FERNET_KEYS",
            "DEBUG",
            "DEFAULT_GATEWAY_URL",
            "CELERY_BROKER_URL",
            "CELERY_EAGER",
        }
    }
    clean["SITE_URL"] = "https://mail.yaypay.example"  # required with DEBUG off
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "yaypay_mail.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env,reason",
    [
        ({"DEBUG": "false", "FERNET_KEYS": KEY}, "SECRET_KEY must be set when DEBUG is off"),
        ({"DEBUG": "false", "SECRET_KEY": "s" * 50}, "FERNET_KEYS must be set when DEBUG is off"),
        (
            {"DEFAULT_GATEWAY_URL": "smtp://relay.example.com:25"},
            "plain smtp:// to a host that is not loopback",
        ),
        ({"DEFAULT_GATEWAY_URL": "http://relay.example.com"}, "DEFAULT_GATEWAY_URL must look like"),
        (
            {"DEBUG": "false", "SECRET_KEY": "s" * 50, "FERNET_KEYS": KEY},
            "CELERY_BROKER_URL must be set when DEBUG is off",
        ),
    ],
)
def test_it_refuses_to_start_and_says_why(env, reason):
    result = start(**env)
    assert result.returncode != 0
    assert reason in result.stderr


def test_it_starts_in_production_with_keys_and_a_tls_gateway():
    result = start(
        DEBUG="false",
        SECRET_KEY="s" * 50,
        FERNET_KEYS=KEY,
        DEFAULT_GATEWAY_URL="smtps://u:p@relay.example.com:465",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
    )
    assert result.returncode == 0, result.stderr


def test_without_a_broker_production_runs_tasks_in_process_only_when_told_to():
    result = start(DEBUG="false", SECRET_KEY="s" * 50, FERNET_KEYS=KEY, CELERY_EAGER="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_malformed_fernet_key_stops_start_up_naming_its_position_not_its_value(debug):
    bad = "not-a-valid-fernet-key-but-a-secret-4711"
    result = start(
        DEBUG=debug,
        SECRET_KEY="s" * 50,
        FERNET_KEYS=f"{KEY},{bad}",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
    )
    assert result.returncode != 0
    assert "FERNET_KEYS: key number 2 of 2 is not a valid Fernet key" in result.stderr
    assert bad not in result.stderr and KEY not in result.stderr
