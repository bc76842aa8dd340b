"""customer_update, customer_pause and customer_unpause used directly: they validate
what the forms validate, record only real changes, and keep a reason only while paused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.page_data import make_customer
from yaypay_mail.customer_services import customer_pause, customer_unpause, customer_update
from yaypay_mail.models import CustomerChange


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech", billing_email="ap@initech.example")


@pytest.mark.parametrize(
    "data,field",
    [
        ({"billing_email": "nope"}, "billing_email"),
        ({"cc_emails": "cfo@initech.example"}, "cc_emails"),  # a string, not a list
        ({"cc_emails": ["ok@initech.example", "bad@"]}, "cc_emails"),
        ({"reminders_paused": "yes"}, "reminders_paused"),
        ({"pause_reason": "two\nlines"}, "pause_reason"),
    ],
)
def test_invalid_values_are_refused_and_nothing_is_written(admin_a, initech, data, field):
    with pytest.raises(ValidationError) as caught:
        customer_update(customer=initech, actor=admin_a, data=data)
    assert field in caught.value.message_dict
    initech.refresh_from_db()
    assert (initech.billing_email, initech.cc_emails) == ("ap@initech.example", [])
    assert not CustomerChange.objects.exists()


def test_fields_outside_the_edit_form_are_refused(admin_a, initech):
    with pytest.raises(ValidationError, match="cannot be edited here: name"):
        customer_update(customer=initech, actor=admin_a, data={"name": "Initrode"})


def test_a_reason_is_kept_only_while_paused(collector_a, initech):
    assert customer_update(customer=initech, actor=collector_a, data={"pause_reason": "x"}) is None
    change = customer_pause(customer=initech, actor=collector_a, reason="Disputed")
    assert change.changes == {"reminders_paused": [False, True], "pause_reason": ["", "Disputed"]}
    assert (initech.reminders_paused, initech.pause_reason) == (True, "Disputed")
    # Pausing again with another reason changes only the reason.
    change = customer_pause(customer=initech, actor=collector_a, reason="Agreed plan")
    assert change.changes == {"pause_reason": ["Disputed", "Agreed plan"]}
    change = customer_unpause(customer=initech, actor=collector_a)
    assert change.changes == {
        "reminders_paused": [True, False],
        "pause_reason": ["Agreed plan", ""],
    }
    assert customer_unpause(customer=initech, actor=collector_a) is None
    assert CustomerChange.objects.filter(customer=initech, source="app").count() == 3
