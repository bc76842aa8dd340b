"""List rows show a short status badge and a one-line reason; the full text stays one
click away, so 50 rows can be scanned without the reasons swamping them."""

from __future__ import annotations

import re

from communications.reasons import SHORT_REASONS, short_reason
from outbox.models import Status
from tests.page_data import AUTH_REASON, make_customer, make_email


def row_of(page: str, email) -> str:
    return re.search(rf'<tr class="email-row" id="email-{email.pk}".*?</tr>', page, re.S).group(0)


def test_an_error_row_shows_a_badge_and_a_one_line_reason(collector_client_a, tenant_a):
    customer = make_customer(tenant_a, "Initech")
    email = make_email(tenant_a, customer=customer, status=Status.ERROR)
    page = collector_client_a.get("/communications/").content.decode()
    row = row_of(page, email)
    summary = re.search(r"<summary>(.*?)</summary>", row, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", summary).split()
    assert " ".join(text) == "Error Login refused"
    # The full reason is in the row, folded under the summary, with a link to the details.
    assert "Check the Username and Password" in row
    assert f'href="/communications/{email.pk}/"' in row


def badge_text(row: str) -> str:
    badge = re.search(r'<span class="badge badge-sent"[^>]*>(.*?)</span>\s*</td>', row, re.S)
    return re.sub(r"<[^>]+>", "", badge.group(1)).strip()


def test_a_sent_row_says_which_server_accepted_it(collector_client_a, tenant_a):
    by_smtp = make_email(tenant_a, status=Status.SENT, route="smtp")
    by_gateway = make_email(tenant_a, status=Status.SENT, route="gateway")
    older = make_email(tenant_a, status=Status.SENT, route="")
    page = collector_client_a.get("/communications/").content.decode()
    assert badge_text(row_of(page, by_smtp)) == "Sent · accepted by your server*"
    assert badge_text(row_of(page, by_gateway)) == "Sent · accepted by the gateway*"
    assert badge_text(row_of(page, older)) == "Sent*"
    # The note is said once for the page, and each Sent badge points at it.
    assert page.count("Delivery to the recipient&#x27;s inbox is not tracked.") == 1
    assert page.count('aria-describedby="not-tracked-note"') == 3
    assert 'id="not-tracked-note"' in page


def test_the_detail_page_names_the_route_that_accepted_a_sent_email(collector_client_a, tenant_a):
    email = make_email(tenant_a, status=Status.SENT, route="gateway")
    page = collector_client_a.get(f"/communications/{email.pk}/").content.decode()
    assert "Sent · accepted by the gateway" in page
    assert "Delivery to the recipient&#x27;s inbox is not tracked." in page


def test_every_error_code_the_product_makes_has_a_short_reason():
    import pathlib

    made = set()
    for folder in ("settings_app", "communications"):
        for path in pathlib.Path(folder).rglob("*.py"):
            made |= set(re.findall(r'code="([a-z_]+)"', path.read_text()))
    form_codes = {"invalid", "max_length", "null_characters_not_allowed"}
    assert made - form_codes <= set(SHORT_REASONS)


def test_an_unknown_code_falls_back_to_the_first_line_of_the_message():
    assert short_reason("", AUTH_REASON) == AUTH_REASON.splitlines()[0]
    assert short_reason("", "") == "Not sent"
