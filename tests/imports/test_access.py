"""Imports are for a tenant's admins: collectors get 403, other tenants 404, strangers login."""

from __future__ import annotations

import pytest

from tests.imports.conftest import CUSTOMERS_HEADER, csv_bytes


@pytest.fixture
def job_a(upload):
    return upload(csv_bytes(CUSTOMERS_HEADER, "C-1,Northwind,ap@nw.example,,no")).job


@pytest.mark.parametrize("path", ["/imports/{pk}/", "/imports/{pk}/status.json"])
def test_another_tenants_admin_gets_404(admin_client_b, job_a, path):
    assert admin_client_b.get(path.format(pk=job_a.pk)).status_code == 404


def test_another_tenants_admin_cannot_confirm(admin_client_b, job_a):
    assert admin_client_b.post(f"/imports/{job_a.pk}/confirm/").status_code == 404
    job_a.refresh_from_db()
    assert job_a.status == "previewed"


def test_another_tenants_history_is_not_shown(admin_client_b, job_a):
    assert b"upload.csv" not in admin_client_b.get("/imports/").content


@pytest.mark.parametrize("path", ["/imports/", "/imports/{pk}/", "/imports/{pk}/status.json"])
def test_collectors_get_403(collector_client_a, job_a, path):
    assert collector_client_a.get(path.format(pk=job_a.pk)).status_code == 403


def test_collectors_cannot_upload(collector_client_a):
    response = collector_client_a.post("/imports/", {"kind": "customers"})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/imports/", "/imports/{pk}/"])
def test_anonymous_visitors_are_sent_to_login(client, job_a, path):
    url = path.format(pk=job_a.pk)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


def test_admins_download_sample_files_that_import_as_they_are(
    admin_client_a, tenant_a, upload, confirm
):
    from yaypay_mail.models import Customer, Invoice

    page = admin_client_a.get("/imports/").content.decode()
    assert 'href="/imports/samples/customers.csv"' in page
    for kind in ("customers", "invoices"):
        response = admin_client_a.get(f"/imports/samples/{kind}.csv")
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        sample = b"".join(response.streaming_content)
        checked = upload(sample, kind=kind, name=f"{kind}.csv")
        assert checked.job is not None and "invalid" not in checked.page.lower(), checked.page
        confirm(checked.job)
    assert Customer.objects.filter(tenant=tenant_a).count() >= 3
    assert Invoice.objects.filter(tenant=tenant_a).count() >= 3


def test_sample_files_are_for_admins_only(collector_client_a, admin_client_a):
    assert collector_client_a.get("/imports/samples/customers.csv").status_code == 403
    assert admin_client_a.get("/imports/samples/secrets.csv").status_code == 404
