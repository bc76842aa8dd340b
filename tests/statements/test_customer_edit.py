"""Editing a customer (admins), pausing and unpausing reminders (admins and collectors),
and what the Statement and the Aging Report then show."""

from __future__ import annotations

import datetime

import pytest

from tests.page_data import make_customer, make_invoice
from yaypay_mail.models import ChangeSource, CustomerChange


@pytest.fixture
def initech(tenant_a):
    return make_customer(
        tenant_a,
        "Initech",
        external_id="ERP-42",
        billing_email="ap@initech.example",
        cc_emails=["cfo@initech.example"],
    )


def edit_url(customer) -> str:
    return f"/customers/{customer.pk}/edit/"


def statement(client, customer) -> str:
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def form_data(**overrides) -> dict:
    data = {
        "billing_email": "ap@initech.example",
        "cc_emails": "cfo@initech.example",
        "pause_reason": "",
    }
    data.update(overrides)
    return data


def test_the_statement_shows_the_external_id_and_an_edit_link_for_admins_only(
    admin_client_a, collector_client_a, initech
):
    admin_page = statement(admin_client_a, initech)
    assert '<dd id="external-id">ERP-42</dd>' in admin_page
    assert f'<a href="{edit_url(initech)}" class="button-link">Edit</a>' in admin_page
    collector_page = statement(collector_client_a, initech)
    assert '<dd id="external-id">ERP-42</dd>' in collector_page
    assert edit_url(initech) not in collector_page
    assert "No changes recorded yet." in collector_page


def test_the_edit_form_shows_the_current_values(admin_client_a, initech):
    initech.cc_emails = ["cfo@initech.example", "ar@initech.example"]
    initech.save()
    response = admin_client_a.get(edit_url(initech))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="ap@initech.example"' in page
    assert 'value="cfo@initech.example, ar@initech.example"' in page


def test_an_admin_edit_is_saved_and_recorded_with_only_the_changed_fields(
    admin_client_a, admin_a, initech
):
    response = admin_client_a.post(
        edit_url(initech),
        form_data(
            billing_email="billing@initech.example",
            cc_emails=" cfo@initech.example; ar@initech.example ,, ",
        ),
        follow=True,
    )
    assert response.redirect_chain == [(f"/customers/{initech.pk}/", 302)]
    page = response.content.decode()
    assert "Customer saved." in page

    initech.refresh_from_db()
    assert initech.billing_email == "billing@initech.example"
    assert initech.cc_emails == ["cfo@initech.example", "ar@initech.example"]
    (change,) = CustomerChange.objects.filter(customer=initech)
    assert (change.tenant_id, change.actor, change.source) == (
        initech.tenant_id,
        admin_a,
        ChangeSource.APP,
    )
    assert change.changes == {
        "billing_email": ["ap@initech.example", "billing@initech.example"],
        "cc_emails": [["cfo@initech.example"], ["cfo@initech.example", "ar@initech.example"]],
    }
    # The Statement's History says who changed what, and how.
    history = page[page.index('id="history"') :]
    assert "admin@acme.example" in history
    assert "In the app" in history
    assert "Billing email: ap@initech.example → billing@initech.example" in history
    assert "CC emails: cfo@initech.example → cfo@initech.example, ar@initech.example" in history


def test_saving_without_changes_records_nothing(admin_client_a, initech):
    response = admin_client_a.post(edit_url(initech), form_data(), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert not CustomerChange.objects.exists()


def test_an_admin_pauses_with_a_reason_from_the_edit_form(admin_client_a, initech):
    admin_client_a.post(
        edit_url(initech), form_data(reminders_paused="on", pause_reason="Disputed INV-9")
    )
    initech.refresh_from_db()
    assert (initech.reminders_paused, initech.pause_reason) == (True, "Disputed INV-9")
    page = statement(admin_client_a, initech)
    assert 'Paused</span>: <span class="pause-reason">Disputed INV-9</span>' in page
    assert "Reminders paused: No → Yes" in page
    assert "Pause reason: — → Disputed INV-9" in page


@pytest.mark.parametrize(
    "overrides,field_error",
    [
        ({"billing_email": "not-an-address"}, "Enter a valid email address."),
        ({"billing_email": ""}, "This field is required."),
        (
            {"cc_emails": "cfo@initech.example; bad@@initech"},
            "CC emails: bad@@initech is not a valid email address.",
        ),
        ({"reminders_paused": "on", "pause_reason": "x" * 201}, "at most 200 characters"),
        (
            {"reminders_paused": "on", "pause_reason": "line one\nline two"},
            "The reason must be one line, without line breaks or control characters.",
        ),
        ({"billing_email": "ap@initech.example\x00"}, "Null characters are not allowed."),
    ],
)
def test_invalid_input_is_not_saved_and_shows_the_field_error(
    admin_client_a, initech, overrides, field_error
):
    response = admin_client_a.post(
        edit_url(initech), form_data(**{"billing_email": "new@initech.example", **overrides})
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert field_error in page
    assert 'class="errorlist"' in page
    initech.refresh_from_db()
    assert initech.billing_email == "ap@initech.example"
    assert initech.reminders_paused is False
    assert not CustomerChange.objects.exists()


def test_a_collector_may_not_edit(collector_client_a, initech):
    assert collector_client_a.get(edit_url(initech)).status_code == 403
    response = collector_client_a.post(edit_url(initech), form_data(billing_email="x@evil.example"))
    assert response.status_code == 403
    initech.refresh_from_db()
    assert initech.billing_email == "ap@initech.example"
    assert not CustomerChange.objects.exists()


def test_a_collector_pauses_with_a_reason_then_unpauses(
    collector_client_a, collector_a, tenant_a, initech
):
    make_invoice(initech, "INV-1", due_on=datetime.date(2026, 1, 1))
    response = collector_client_a.post(
        f"/customers/{initech.pk}/pause/", {"reason": "  Disputed INV-1  "}, follow=True
    )
    assert response.redirect_chain == [(f"/customers/{initech.pk}/", 302)]
    page = response.content.decode()
    assert "Reminders paused." in page
    assert '<span class="pause-reason">Disputed INV-1</span>' in page
    assert "Resume reminders" in page
    history = page[page.index('id="history"') :]
    assert "collector@acme.example" in history
    assert "Pause reason: — → Disputed INV-1" in history

    aging = collector_client_a.get("/reports/aging/").content.decode()
    assert (
        '<div class="paused"><span class="badge badge-paused">Paused</span> '
        '<span class="pause-reason">Disputed INV-1</span></div>'
    ) in aging

    change = CustomerChange.objects.get(customer=initech)
    assert (change.actor, change.source) == (collector_a, ChangeSource.APP)
    assert change.changes == {
        "reminders_paused": [False, True],
        "pause_reason": ["", "Disputed INV-1"],
    }

    response = collector_client_a.post(f"/customers/{initech.pk}/unpause/", follow=True)
    page = response.content.decode()
    assert "Reminders resumed." in page
    assert '<dd id="pause-state">Active</dd>' in page
    assert "Reminders paused: Yes → No" in page
    initech.refresh_from_db()
    assert (initech.reminders_paused, initech.pause_reason) == (False, "")
    assert "Paused" not in collector_client_a.get("/reports/aging/").content.decode()


def test_a_pause_without_a_reason_shows_paused_alone(collector_client_a, initech):
    make_invoice(initech, "INV-1", due_on=datetime.date(2026, 1, 1))
    collector_client_a.post(f"/customers/{initech.pk}/pause/", {"reason": ""})
    page = statement(collector_client_a, initech)
    assert '<dd id="pause-state"><span class="bad">Paused</span></dd>' in page
    aging = collector_client_a.get("/reports/aging/").content.decode()
    assert '<div class="paused"><span class="badge badge-paused">Paused</span></div>' in aging


@pytest.mark.parametrize(
    "reason,message",
    [
        ("r" * 201, "Ensure this value has at most 200 characters (it has 201)."),
        ("tab\there", "The reason must be one line"),
        ("nul\x00", "Null characters are not allowed."),
    ],
)
def test_a_bad_pause_reason_is_refused_and_nothing_changes(
    collector_client_a, initech, reason, message
):
    response = collector_client_a.post(f"/customers/{initech.pk}/pause/", {"reason": reason})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Nothing was changed." in page
    initech.refresh_from_db()
    assert initech.reminders_paused is False
    assert not CustomerChange.objects.exists()


def test_pause_and_unpause_take_only_post(collector_client_a, initech):
    assert collector_client_a.get(f"/customers/{initech.pk}/pause/").status_code == 405
    assert collector_client_a.get(f"/customers/{initech.pk}/unpause/").status_code == 405


def test_history_lists_the_latest_changes_first_including_imports(
    admin_client_a, tenant_a, initech
):
    CustomerChange.objects.create(
        tenant=tenant_a,
        customer=initech,
        source=ChangeSource.IMPORT,
        changes={"name": ["Initech Inc", "Initech"]},
    )
    admin_client_a.post(edit_url(initech), form_data(billing_email="new@initech.example"))
    page = statement(admin_client_a, initech)
    history = page[page.index('id="history"') :]
    assert history.index("Billing email: ap@initech.example → new@initech.example") < (
        history.index("Name: Initech Inc → Initech")
    )
    assert "CSV import" in history


def many(count: int) -> str:
    return ", ".join(f"cc{n}@initech.example" for n in range(count))


def test_more_than_50_recipients_is_a_field_error_and_nothing_is_saved(admin_client_a, initech):
    response = admin_client_a.post(edit_url(initech), form_data(cc_emails=many(50)))
    assert response.status_code == 400
    page = response.content.decode()
    assert "at most 50 addresses in To and Cc together" in page
    assert 'id="field-cc_emails"' in page
    initech.refresh_from_db()
    assert initech.cc_emails == ["cfo@initech.example"]
    assert not CustomerChange.objects.exists()


def test_49_cc_addresses_and_the_billing_email_are_saved(admin_client_a, initech):
    response = admin_client_a.post(edit_url(initech), form_data(cc_emails=many(49)))
    assert response.status_code == 302
    initech.refresh_from_db()
    assert len(initech.cc_emails) == 49


def test_the_service_refuses_too_many_recipients_too(initech, admin_a):
    from django.core.exceptions import ValidationError

    from yaypay_mail.customer_services import customer_update

    cc = [f"cc{n}@initech.example" for n in range(60)]
    with pytest.raises(ValidationError, match="at most 50 addresses in To and Cc together"):
        customer_update(customer=initech, actor=admin_a, data={"cc_emails": cc})
    initech.refresh_from_db()
    assert initech.cc_emails == ["cfo@initech.example"]


def test_another_tenants_admin_cannot_edit(admin_client_b, initech):
    response = admin_client_b.post(edit_url(initech), form_data(cc_emails=many(2)))
    assert response.status_code == 404
    initech.refresh_from_db()
    assert initech.cc_emails == ["cfo@initech.example"]


@pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200b", "\ufeff"])
def test_a_reason_with_an_invisible_control_character_is_refused(
    admin_client_a, collector_client_a, initech, char
):
    response = admin_client_a.post(
        edit_url(initech), form_data(reminders_paused="on", pause_reason=f"Dispute{char} open")
    )
    assert response.status_code == 400
    assert f"(found U+{ord(char):04X})" in response.content.decode()
    response = collector_client_a.post(
        f"/customers/{initech.pk}/pause/", {"reason": f"Dispute{char}"}
    )
    assert response.status_code == 400
    initech.refresh_from_db()
    assert initech.reminders_paused is False
    assert not CustomerChange.objects.exists()
