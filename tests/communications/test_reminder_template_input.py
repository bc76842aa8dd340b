"""The reminder email's texts refuse what would be changed or hidden when sent: a line
break in a one-line field (the subject becomes a header), and invisible or
text-direction control characters in any of them. A field error, and nothing saved."""

from __future__ import annotations

from html import unescape

import pytest

from dunning.models import ReminderTemplate

URL = "/settings/reminders/"


def email_form(**overrides) -> dict:
    data = {
        "section": "email",
        "action": "save",
        "subject": "",
        "opening": "",
        "closing": "",
        "how_to_pay": "",
        "contact_line": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "field,value",
    [
        ("subject", "Payment reminder\r\nBcc: everyone@example.com"),
        ("subject", "Payment reminder\nfrom Acme"),
        ("contact_line", "Call us\r\non +1 555 0100"),
    ],
)
def test_a_line_break_in_a_one_line_field_is_a_field_error(admin_client_a, tenant_a, field, value):
    response = admin_client_a.post(URL, email_form(**{field: value}))
    assert response.status_code == 200
    assert response.context["template_form"].errors[field] == [
        "Must be one line: remove the line break."
    ]
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff"])
@pytest.mark.parametrize("field", ["subject", "opening", "contact_line"])
def test_invisible_and_direction_controls_are_refused(admin_client_a, tenant_a, field, char):
    response = admin_client_a.post(URL, email_form(**{field: f"Pay {char}now"}))
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert f"U+{ord(char):04X}" in page
    assert "Nothing was saved." in page
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()


def test_paragraphs_keep_their_line_breaks(admin_client_a, tenant_a):
    response = admin_client_a.post(URL, email_form(opening="Dear {customer_name},\r\n\r\nHello."))
    assert response.status_code == 302
    assert ReminderTemplate.objects.get(tenant=tenant_a).opening.count("\n") == 2
