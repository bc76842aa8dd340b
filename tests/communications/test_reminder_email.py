"""The reminder email a customer receives (render_reminder) and its section of Settings |
Reminders: the tenant's text with placeholders, its logo, its locale, escaping, the plain
text part matching the HTML, and the tenant-scoped preview."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dunning.models import ReminderTemplate
from dunning.reminder_look import LOGO_CID
from dunning.reminders import render_reminder, schedule_reminders
from dunning.services import reminder_settings_for
from outbox.delivery import deliver_due
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import use_smtp
from yaypay_mail.models import Customer, Invoice, Tenant

URL = "/settings/reminders/"
PREVIEW = "/settings/reminders/preview/"
TODAY = datetime.date(2026, 11, 25)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


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
    return {name: value for name, value in data.items() if value is not None}


def fresh(tenant: Tenant) -> Tenant:
    # A new instance: the look is read once per Tenant instance.
    return Tenant.objects.get(pk=tenant.pk)


@pytest.fixture
def customer(tenant_a):
    customer = Customer.objects.create(
        tenant=tenant_a, name="Northwind Traders", billing_email="ap@northwind.example"
    )
    for number, days, amount, currency in (
        ("INV-1", 45, "12500.50", "USD"),
        ("INV-2", 3, "100.00", "USD"),
        ("INV-3", 10, "7000.00", "EUR"),
    ):
        due = TODAY - datetime.timedelta(days=days)
        Invoice.objects.create(
            tenant=tenant_a,
            customer=customer,
            number=number,
            issued_on=due - datetime.timedelta(days=30),
            due_on=due,
            amount=Decimal(amount),
            open_balance=Decimal(amount),
            currency=currency,
        )
    return customer


def rendered(tenant, customer):
    invoices = list(customer.invoices.order_by("due_on", "number"))
    return render_reminder(tenant=fresh(tenant), customer=customer, invoices=invoices, today=TODAY)


def visible_text(html: str) -> str:
    body = html.split("<body", 1)[1].split(">", 1)[1]
    return " ".join(re.split(r"[ \t\r\n]+", unescape(re.sub(r"<[^>]+>", " ", body)))).strip()


# --- what the email says -----------------------------------------------------------------


def test_the_default_email_lists_the_invoices_and_totals_in_the_tenants_locale(tenant_a, customer):
    email = rendered(tenant_a, customer)
    assert email.subject == "Payment reminder from Acme Corp: 3 overdue invoices"
    seen = visible_text(email.html)
    assert "Dear Northwind Traders," in seen
    assert "Invoice Due date Days overdue Open amount" in seen
    assert "INV-1 Oct 11, 2026 45 $12,500.50" in seen
    assert "Balance due (EUR) €7,000.00" in seen and "Balance due (USD) $12,600.50" in seen
    assert "Please pay the balance due of €7,000.00, $12,600.50." in seen
    assert "Acme Corp" in seen
    assert "Balance due (EUR): €7,000.00" in email.text
    assert "Balance due (USD): $12,600.50" in email.text


def test_a_german_tenant_gets_german_separators_and_dates(tenant_a, customer):
    limits = reminder_settings_for(tenant_a)
    limits.locale = "de_DE"
    limits.save()
    email = rendered(tenant_a, customer)
    assert "12.500,50\xa0$" in email.text and "11.10.2026" in email.text
    assert "7.000,00\xa0€" in visible_text(email.html)


def test_the_plain_text_part_says_what_the_html_says(tenant_a, customer):
    ReminderTemplate.objects.create(
        tenant=tenant_a,
        opening="Hello {customer_name}, you owe {total_overdue}.",
        how_to_pay="Wire to IBAN DE02 1203 0000 0000 2020 51",
        closing="Thanks!",
        contact_line="Questions? Call Jane on +1 555 0100.",
    )
    email = rendered(tenant_a, customer)
    html = visible_text(email.html)
    lines = [line.strip() for line in email.text.splitlines() if line.strip()]
    for expected in (
        "Dear Northwind Traders,",
        "Hello Northwind Traders, you owe €7,000.00, $12,600.50.",
        "How to pay",
        "Wire to IBAN DE02 1203 0000 0000 2020 51",
        "Thanks!",
        "Questions? Call Jane on +1 555 0100.",
        "Acme Corp",
    ):
        assert expected in html
        assert any(expected.rstrip(":") in line for line in lines), expected
    for number, due, amount in (
        ("INV-1", "Oct 11, 2026", "$12,500.50"),
        ("INV-2", "Nov 22, 2026", "$100.00"),
        ("INV-3", "Nov 15, 2026", "€7,000.00"),
    ):
        assert f"{number}  due {due}" in email.text and amount in email.text
        assert f"{number} {due}" in html and amount in html


def test_placeholders_fill_the_subject(tenant_a, customer):
    ReminderTemplate.objects.create(
        tenant=tenant_a, subject="{customer_name}: {oldest_days_overdue} days overdue"
    )
    assert rendered(tenant_a, customer).subject == "Northwind Traders: 45 days overdue"


def test_a_customer_name_or_opening_with_html_is_shown_escaped(tenant_a, customer):
    customer.name = "<script>alert('x')</script> Ltd"
    customer.save()
    ReminderTemplate.objects.create(
        tenant=tenant_a, opening='<img src=x onerror="alert(1)"> {customer_name}'
    )
    email = rendered(tenant_a, customer)
    assert "<script>" not in email.html and "<img src=x" not in email.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Ltd" in email.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in email.html
    assert "<script>alert('x')</script> Ltd" in email.text  # plain text is not HTML


def test_template_code_in_tenant_text_stays_text(tenant_a, customer):
    # Doubled braces are how a tenant writes a brace; the result is never a template.
    ReminderTemplate.objects.create(tenant=tenant_a, closing="{{ tenant.pk }} {{% now 'Y' %}}")
    email = rendered(tenant_a, customer)
    assert "{ tenant.pk } {% now &#x27;Y&#x27; %}" in email.html
    assert "{ tenant.pk } {% now 'Y' %}" in email.text


def test_without_a_from_address_the_email_promises_no_reply(tenant_a, customer):
    OutgoingEmailSettings.objects.update_or_create(tenant=tenant_a, defaults={"from_email": ""})
    email = rendered(tenant_a, customer)
    assert "reply" not in email.text.lower() and "reply" not in email.html.lower()
    OutgoingEmailSettings.objects.filter(tenant=tenant_a).update(from_email="ar@acme.example")
    email = rendered(tenant_a, customer)
    assert "simply reply to this email" in email.text and "simply reply to this email" in email.html


def test_a_contact_line_replaces_the_reply_sentence(tenant_a, customer):
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"from_email": "ar@acme.example"}
    )
    ReminderTemplate.objects.create(tenant=tenant_a, contact_line="Call Jane on 555 0100.")
    email = rendered(tenant_a, customer)
    assert "Call Jane on 555 0100." in email.text and "reply" not in email.text


def test_the_logo_is_referenced_by_its_content_id(tenant_a, customer):
    assert "<img" not in rendered(tenant_a, customer).html  # no logo: the tenant's name
    ReminderTemplate.objects.create(tenant=tenant_a, logo=PNG, logo_content_type="image/png")
    html = rendered(tenant_a, customer).html
    assert f'<img src="cid:{LOGO_CID}" alt="Acme Corp"' in html
    assert "http" not in re.sub(r'xmlns="[^"]*"', "", html)  # no external images


# --- delivery with the logo --------------------------------------------------------------


def test_a_reminder_goes_out_with_its_logo_inline(tenant_a, customer, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    ReminderTemplate.objects.create(tenant=tenant_a, logo=JPEG, logo_content_type="image/jpeg")
    assert schedule_reminders(tenant=fresh(tenant_a), today=TODAY) == 1
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (received,) = starttls_server.wait_for(1)
    message = received.message
    text, related = message.get_payload()
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert image.get_content_type() == "image/jpeg" and image.get_content() == JPEG
    assert image["Content-ID"] == f"<{LOGO_CID}>"
    assert f'src="cid:{LOGO_CID}"' in html.get_content()


def test_a_reminder_without_a_logo_is_a_plain_alternative(tenant_a, customer, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    schedule_reminders(tenant=fresh(tenant_a), today=TODAY)
    deliver_due(tenant_id=tenant_a.pk)
    (received,) = starttls_server.wait_for(1)
    parts = [part.get_content_type() for part in received.message.get_payload()]
    assert parts == ["text/plain", "text/html"]


# --- the settings page's email section --------------------------------------------------


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("opening", "Dear {foo},", "Unknown placeholder {foo}."),
        ("subject", "{customer_name.__class__}", "Unknown placeholder"),
        ("closing", "Pay {total_overdue", "A brace does not close a placeholder."),
        ("how_to_pay", "a } b", "A brace does not close a placeholder."),
        ("contact_line", "{customer_name!r}", "Unknown placeholder"),
    ],
)
def test_a_bad_placeholder_is_a_field_error_and_nothing_is_saved(
    admin_client_a, tenant_a, field, value, message
):
    response = admin_client_a.post(URL, email_form(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["template_form"].errors
    page = response.content.decode()
    assert message in unescape(page)
    assert "Nothing was saved." in page
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()


def test_the_page_lists_the_placeholders(admin_client_a):
    page = admin_client_a.get(URL).content.decode()
    for name in ("{customer_name}", "{total_overdue}", "{balance_due}", "{oldest_days_overdue}"):
        assert f"<code>{name}</code>" in page


def test_an_admin_saves_the_email_text(admin_client_a, tenant_a):
    response = admin_client_a.post(
        URL,
        email_form(opening="Hi {customer_name}", how_to_pay="IBAN X", contact_line="Call us"),
        follow=True,
    )
    assert "Reminder email saved." in response.content.decode()
    saved = ReminderTemplate.objects.get(tenant=tenant_a)
    assert (saved.opening, saved.how_to_pay, saved.contact_line) == (
        "Hi {customer_name}",
        "IBAN X",
        "Call us",
    )


def test_a_png_logo_is_accepted_even_named_svg(admin_client_a, tenant_a):
    upload = SimpleUploadedFile("logo.svg", PNG, content_type="image/svg+xml")
    response = admin_client_a.post(URL, email_form(logo_file=upload))
    assert response.status_code == 302
    saved = ReminderTemplate.objects.get(tenant=tenant_a)
    assert bytes(saved.logo) == PNG and saved.logo_content_type == "image/png"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("logo.svg", SVG, "The logo must be a PNG or JPEG image."),
        ("logo.png", SVG, "The logo must be a PNG or JPEG image."),
        ("logo.gif", b"GIF89a" + b"\x00" * 50, "The logo must be a PNG or JPEG image."),
        ("logo.png", PNG + b"\x00" * 200 * 1024, "The logo is larger than 200 KB."),
    ],
)
def test_anything_but_a_small_png_or_jpeg_is_refused(admin_client_a, tenant_a, name, data, message):
    ReminderTemplate.objects.create(tenant=tenant_a, opening="Kept")
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    response = admin_client_a.post(URL, email_form(opening="Changed", logo_file=upload))
    assert response.status_code == 200
    assert message in response.content.decode()
    saved = ReminderTemplate.objects.get(tenant=tenant_a)
    assert saved.opening == "Kept" and not saved.logo


def test_the_remove_logo_box_removes_it(admin_client_a, tenant_a):
    ReminderTemplate.objects.create(tenant=tenant_a, logo=PNG, logo_content_type="image/png")
    page = admin_client_a.get(URL).content.decode()
    assert "Remove the logo" in page
    admin_client_a.post(URL, email_form(remove_logo="on"))
    saved = ReminderTemplate.objects.get(tenant=tenant_a)
    assert not saved.logo and saved.logo_content_type == ""


def test_an_error_in_one_section_leaves_the_other_as_saved(admin_client_a, tenant_a):
    ReminderTemplate.objects.create(tenant=tenant_a, opening="Stored opening")
    response = admin_client_a.post(
        URL, {"section": "settings", "sending_hour": "99", "time_zone": "UTC", "locale": "en_US"}
    )
    page = response.content.decode()
    assert "sending_hour" in response.context["form"].errors
    assert not response.context["template_form"].errors
    assert "Stored opening</textarea>" in page


def test_the_preview_button_shows_unsaved_text_and_saves_nothing(admin_client_a, tenant_a):
    response = admin_client_a.post(
        URL, email_form(action="preview", opening="<b>Draft</b> for {customer_name}")
    )
    assert response.status_code == 200
    page = response.content.decode()
    srcdoc = page.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert srcdoc.startswith("&lt;!doctype html&gt;")  # the whole email, inside the attribute
    preview = unescape(srcdoc)
    assert "&lt;b&gt;Draft&lt;/b&gt; for Sample Customer Ltd" in preview
    assert "<b>Draft" not in page
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()


# --- the preview endpoint ---------------------------------------------------------------


def test_the_preview_renders_the_typed_text_for_a_sample_customer(admin_client_a):
    response = admin_client_a.post(
        PREVIEW, email_form(opening="You owe {total_overdue}. <script>x</script>")
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "sandbox" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "Dear Sample Customer Ltd," in html
    assert "You owe $13,330.40. &lt;script&gt;x&lt;/script&gt;" in html
    assert "INV-1042" in html and "Acme Corp" in html


def test_the_preview_shows_a_new_logo_as_a_data_url(admin_client_a):
    upload = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    html = admin_client_a.post(PREVIEW, email_form(logo_file=upload)).content.decode()
    assert '<img src="data:image/png;base64,' in html


def test_a_bad_placeholder_in_the_preview_answers_400_with_the_error(admin_client_a, tenant_a):
    response = admin_client_a.post(PREVIEW, email_form(opening="{foo}"))
    assert response.status_code == 400
    assert "Unknown placeholder {foo}." in json.loads(response.content)["errors"]["opening"][0]
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()


def test_the_preview_is_for_admins_only(db, collector_client_a):
    assert Client().post(PREVIEW, email_form()).status_code == 302
    assert collector_client_a.post(PREVIEW, email_form()).status_code == 403


def test_the_preview_only_answers_post(admin_client_a):
    assert admin_client_a.get(PREVIEW).status_code == 405


def test_the_preview_uses_the_admins_own_tenant(admin_client_b, tenant_a, tenant_b):
    ReminderTemplate.objects.create(tenant=tenant_a, logo=PNG, logo_content_type="image/png")
    limits = reminder_settings_for(tenant_a)
    limits.locale = "de_DE"
    limits.save()
    html = admin_client_b.post(PREVIEW, email_form()).content.decode()
    assert tenant_b.name in html and tenant_a.name not in html
    assert "<img" not in html  # tenant A's logo is not tenant B's
    assert "$13,080.40" in html  # tenant B's locale (en_US), not A's: the sample's balance
