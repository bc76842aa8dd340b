"""Recipients, not only messages: at most MAX_RECIPIENTS in one message, the per-day limit
counts To + Cc, and the shared gateway takes at most GATEWAY_DAILY_RECIPIENTS a day from
one tenant. Sent through real SMTP servers; nothing over a limit is dropped."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from outbox.delivery import deliver_due
from outbox.models import OutboundEmail, SendingLimits, Status
from outbox.services import NewEmail, outbox_enqueue_many
from tests.communications.outbox_helpers import reload, use_smtp


def queue_with_cc(tenant, count: int, *, cc: int) -> list[OutboundEmail]:
    return outbox_enqueue_many(
        tenant=tenant,
        kick=False,
        emails=[
            NewEmail(
                to=[f"billing{n}@client.example"],
                cc=[f"cc{n}-{i}@client.example" for i in range(cc)],
                subject=f"Reminder {n}",
                text=f"Please pay invoice {n}.",
            )
            for n in range(count)
        ],
    )


def test_a_message_over_max_recipients_ends_as_error_and_the_batch_goes_on(
    tenant_a, starttls_server, settings
):
    settings.MAX_RECIPIENTS = 5
    use_smtp(tenant_a, starttls_server.port)
    small, big = queue_with_cc(tenant_a, 2, cc=3)
    # Written before the limit existed (or straight into the table): 1 + 9 addresses.
    OutboundEmail.objects.filter(pk=big.pk).update(
        cc_addresses=[f"cc{i}@client.example" for i in range(9)]
    )

    assert deliver_due(tenant_id=tenant_a.pk) == 1

    small, big = reload([small, big])
    assert small.status == Status.SENT
    assert (big.status, big.error_code, big.tries) == (Status.ERROR, "invalid_message", 0)
    assert "10 addresses in To and Cc" in big.error_message
    assert "at most 5" in big.error_message
    received = starttls_server.wait_for(1)
    assert [r.message["Message-ID"] for r in received] == [small.message_id]


def test_the_per_day_limit_counts_recipients_and_what_is_over_waits_for_tomorrow(
    tenant_a, starttls_server, admin_client_a
):
    use_smtp(tenant_a, starttls_server.port)
    SendingLimits.objects.filter(tenant=tenant_a).update(per_day_limit=5)
    tenant_a.time_zone = "Europe/Berlin"
    tenant_a.save(update_fields=["time_zone"])
    emails = queue_with_cc(tenant_a, 3, cc=1)  # 2 recipients each

    with time_machine.travel(timezone.datetime(2026, 12, 7, 15, 0, tzinfo=timezone.UTC)) as clock:
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        assert deliver_due(tenant_id=tenant_a.pk) == 2  # 4 recipients; a 3rd would make 6

        first, second, third = reload(emails)
        assert (first.status, second.status, third.status) == (
            Status.SENT,
            Status.SENT,
            Status.QUEUED,
        )
        assert third.error_code == "daily_limit"
        assert "limit of 5 recipients (To + Cc)" in third.error_message
        # Midnight in Berlin is 23:00 UTC.
        assert third.next_attempt_at == timezone.datetime(2026, 12, 7, 23, 0, tzinfo=timezone.UTC)
        listed = admin_client_a.get("/communications/?status=queued").content.decode()
        assert "Waiting for tomorrow" in listed

        clock.move_to(timezone.datetime(2026, 12, 7, 23, 1, tzinfo=timezone.UTC))
        assert deliver_due(tenant_id=tenant_a.pk) == 1
    third = reload([third])[0]
    assert (third.status, third.error_code, third.error_message) == (Status.SENT, "", "")
    assert len(starttls_server.wait_for(3)) == 3


def test_the_per_minute_limit_still_counts_messages(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    SendingLimits.objects.filter(tenant=tenant_a).update(per_minute_limit=2)
    emails = queue_with_cc(tenant_a, 3, cc=4)  # 5 recipients each, 15 in all
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert deliver_due(tenant_id=tenant_a.pk) == 2
        clock.shift(timedelta(seconds=61))
        assert deliver_due(tenant_id=tenant_a.pk) == 1
    assert {e.status for e in reload(emails)} == {Status.SENT}


def test_the_gateway_takes_at_most_its_daily_recipients_from_one_tenant(
    tenant_a, tenant_b, gateway, starttls_server, settings
):
    settings.GATEWAY_DAILY_RECIPIENTS = 5
    # Tenant A has no mailbox of its own: the gateway. Tenant B sends through its own.
    use_smtp(tenant_b, starttls_server.port)
    on_gateway = queue_with_cc(tenant_a, 4, cc=1)
    own_server = queue_with_cc(tenant_b, 4, cc=1)

    assert deliver_due(tenant_id=tenant_a.pk) == 2
    assert deliver_due(tenant_id=tenant_b.pk) == 4  # the gateway's cap is not B's

    waiting = [e for e in reload(on_gateway) if e.status == Status.QUEUED]
    assert len(waiting) == 2
    for email in waiting:
        assert email.error_code == "gateway_daily_limit"
        assert "at most 5 recipients a day" in email.error_message
        assert email.tries == 0
        assert email.next_attempt_at > timezone.now()
    assert len(gateway.wait_for(2)) == 2
    assert {e.status for e in reload(own_server)} == {Status.SENT}
    # A kick meanwhile (new mail with 2 recipients; 1 is left) sends nothing, and the
    # new email says why it waits.
    (late,) = queue_with_cc(tenant_a, 1, cc=1)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    assert len(gateway.received) == 2
    assert reload([late])[0].error_code == "gateway_daily_limit"


def test_the_reminder_settings_page_says_the_day_counts_recipients(admin_client_a, settings):
    settings.GATEWAY_DAILY_RECIPIENTS = 1000
    page = admin_client_a.get("/settings/reminders/").content.decode()
    assert "Recipients per day (To + Cc)" in page
    assert "per-day limit counts recipients" in page
    assert "at most 1,000 recipients a day" in page
