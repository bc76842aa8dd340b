"""Timestamps on the pages follow the tenant's locale (Settings | Reminders), in its time
zone: Communications, bulk resend's confirmation, the Dashboard's recent errors, the API
tokens and Settings | Email."""

from __future__ import annotations

import datetime
import re

import pytest

from api import tokens
from api.models import ApiToken
from dunning.models import ReminderSettings
from outbox.models import OutboundEmail, Status
from tests.page_data import make_customer, make_email
from yaypay_mail.models import Tenant

AT = datetime.datetime(2026, 11, 30, 13, 5, tzinfo=datetime.UTC)
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


@pytest.fixture
def german(tenant_a, admin_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="Europe/Berlin")
    ReminderSettings.objects.update_or_create(tenant=tenant_a, defaults={"locale": "de_DE"})
    initech = make_customer(tenant_a, "Initech")
    failed = make_email(tenant_a, customer=initech, status=Status.ERROR)
    OutboundEmail.objects.filter(pk=failed.pk).update(created_at=AT, updated_at=AT)
    token, _ = tokens.token_create(tenant=tenant_a, name="ERP", created_by=admin_a)
    ApiToken.objects.filter(pk=token.pk).update(created_at=AT)
    return failed


@pytest.mark.parametrize(
    "url",
    [
        "/communications/",
        "/communications/resend/?all_matching=1&status=error",
        "/",
        "/settings/api-tokens/",
    ],
)
def test_timestamps_are_written_the_tenants_way(admin_client_a, german, url):
    page = admin_client_a.get(url).content.decode()
    assert "30.11.2026, 14:05" in page  # 13:05 UTC in Berlin, German style
    assert not ISO_MOMENT.search(page)


def test_an_american_tenant_reads_american_timestamps(admin_client_a, tenant_a):
    failed = make_email(tenant_a, status=Status.ERROR)
    OutboundEmail.objects.filter(pk=failed.pk).update(created_at=AT)
    page = admin_client_a.get("/communications/").content.decode()
    assert "Nov 30, 2026, 1:05\u202fPM" in page
