"""Reading a page writes nothing: the rows pages read (outgoing email settings, reminder
settings, sending limits) are created with the tenant, not on a first GET."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dunning.models import ReminderSettings
from outbox.models import SendingLimits
from routes.models import OutgoingEmailSettings

# Not here yet: the Aging Report, whose first read of a new day moves the overdue
# buckets' rollup to that day (a rollup, kept by services once they own the rollups).
PAGES = [
    "/",
    "/communications/",
    "/customers/",
    "/settings/email/outgoing/",
    "/settings/reminders/",
    "/settings/api-tokens/",
    "/imports/",
]


def test_a_new_tenant_has_its_rows_from_the_start(tenant_a):
    assert OutgoingEmailSettings.objects.filter(tenant=tenant_a).count() == 1
    assert ReminderSettings.objects.filter(tenant=tenant_a).count() == 1
    assert SendingLimits.objects.filter(tenant=tenant_a).count() == 1


@pytest.mark.parametrize("url", PAGES)
def test_a_get_writes_nothing(admin_client_a, url):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_a.get(url)
    assert response.status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and "django_session" not in q["sql"]
    ]
    assert writes == []
