"""LOG_FORMAT: what an operator reads on stderr, from a real Django set-up in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LOG_ONE_LINE = """
import django, logging
django.setup()
logging.getLogger("outbox.delivery").info(
    "delivered", extra={"tenant_id": 7, "email_id": 42, "outcome": "sent", "reply": "250 2.0.0 Ok"}
)
"""


def run_with(log_format: str | None) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yaypay_mail.settings"}
    env.pop("LOG_FORMAT", None)
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    done = subprocess.run(
        [sys.executable, "-c", LOG_ONE_LINE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return (done.stdout + done.stderr).splitlines()


def test_json_is_one_object_a_line_with_the_extras():
    lines = run_with("json")

    records = [json.loads(line) for line in lines]  # every line is JSON
    delivered = [r for r in records if r["message"] == "delivered"]
    assert len(delivered) == 1
    record = delivered[0]
    assert record["level"] == "INFO"
    assert record["logger"] == "outbox.delivery"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", record["timestamp"])
    assert (record["tenant_id"], record["email_id"], record["outcome"]) == (7, 42, "sent")
    assert record["reply"] == "250 2.0.0 Ok"


def test_plain_text_is_the_default_and_shows_the_extras_as_key_value():
    lines = run_with(None)

    delivered = [line for line in lines if " delivered" in line]
    assert len(delivered) == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO outbox\.delivery delivered "
        r'tenant_id=7 email_id=42 outcome=sent reply="250 2\.0\.0 Ok"',
        delivered[0],
    )
