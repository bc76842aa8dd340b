"""Uploading through the Imports page as tenant A's admin, with tasks run in-process: the
upload request itself runs the check, a confirm request the import."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    pass


def visible_text(response) -> str:
    """The page as a user reads it: tags dropped, entities decoded, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


@dataclass
class Uploaded:
    response: object  # the POST's response
    job: ImportJob | None
    page: str  # the job's page (or the form again) as text


@pytest.fixture
def upload(admin_client_a, django_capture_on_commit_callbacks):
    def post(content: bytes, *, client=None, name: str = "upload.csv", **fields) -> Uploaded:
        client = client or admin_client_a
        data = {"kind": "customers", **fields, "file": SimpleUploadedFile(name, content)}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/imports/", data)
        if response.status_code != 302:
            return Uploaded(response, None, visible_text(response))
        job = ImportJob.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))
        return Uploaded(response, job, visible_text(client.get(response.url)))

    return post


@pytest.fixture
def confirm(admin_client_a, django_capture_on_commit_callbacks):
    def post(job: ImportJob, *, client=None) -> str:
        client = client or admin_client_a
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/imports/{job.pk}/confirm/")
        assert response.status_code == 302, response.status_code
        job.refresh_from_db()
        return visible_text(client.get(response.url))

    return post


def csv_bytes(*lines: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return newline.join(lines).encode(encoding) + newline.encode()


CUSTOMERS_HEADER = "customer_id,name,billing_email,cc_emails,reminders_paused"
INVOICES_HEADER = "invoice_number,customer_id,issue_date,due_date,amount,open_balance,currency"
