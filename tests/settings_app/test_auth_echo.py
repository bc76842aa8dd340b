"""A hostile server that echoes the password back at AUTH, in any disguise, never gets it
onto a page: from that stage only the codes and the product's own words are kept."""

from __future__ import annotations

import binascii

import pytest
from django.test import Client

from outbox.delivery import deliver_due
from routes.models import OutgoingEmailSettings
from settings_app.models import SettingsAuditEntry
from tests.communications.outbox_helpers import queue
from tests.settings_app.test_outgoing_email_view import URL, form
from tests.smtp_fixtures import MAILBOX_PASSWORD

ECHOES = {
    "upper-cased": MAILBOX_PASSWORD.upper(),
    "hex": binascii.hexlify(MAILBOX_PASSWORD.encode()).decode(),
    "spaced out": " ".join(MAILBOX_PASSWORD),
    "reversed": MAILBOX_PASSWORD[::-1],
}


def _shows_no_echo(text: str, echo: str) -> None:
    squeezed = "".join(text.split()).lower()
    assert echo not in text
    assert "".join(echo.split()).lower() not in squeezed


@pytest.mark.parametrize("disguise", sorted(ECHOES))
def test_an_echo_at_auth_reaches_no_page_no_audit_row_and_no_admin(
    disguise, tenant_a, admin_client_a, raw_server_factory, test_ca, django_user_model
):
    echo = ECHOES[disguise]
    server = raw_server_factory(
        "scripted", ca=test_ca, script={"auth": f"535 5.7.8 Bad credentials {echo} rejected"}
    )
    page = admin_client_a.post(URL, form(server.port), follow=True).content.decode()
    assert "Authentication failed." in page
    assert "5.7.8" in page  # the code stays: it is what IT asks for
    _shows_no_echo(page, echo)

    # The same refusal met by a worker, shown to collectors on the Dashboard.
    OutgoingEmailSettings.objects.filter(tenant=tenant_a).update(last_result_code="")
    queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    _shows_no_echo(admin_client_a.get("/").content.decode(), echo)
    _shows_no_echo(admin_client_a.get("/communications/").content.decode(), echo)

    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    _shows_no_echo(config.last_result_message, echo)
    for entry in SettingsAuditEntry.objects.filter(tenant=tenant_a):
        _shows_no_echo(entry.result, echo)

    operator = django_user_model.objects.create_superuser(
        "ops@yaypay.example", "ops@yaypay.example", "ops-password-2026"
    )
    admin = Client()
    admin.force_login(operator, backend="yaypay_mail.auth.EmailBackend")
    change = admin.get(f"/admin/routes/outgoingemailsettings/{config.pk}/change/")
    assert change.status_code == 200
    _shows_no_echo(change.content.decode(), echo)
