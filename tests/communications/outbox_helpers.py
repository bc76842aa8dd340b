"""Shared set-up for outbox tests: a tenant pointed at a test SMTP server, and queued mail."""

from __future__ import annotations

from outbox.models import OutboundEmail
from outbox.services import NewEmail, outbox_enqueue_many
from routes import secrets
from routes.models import OutgoingEmailSettings
from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD


def use_smtp(
    tenant, port: int, *, encryption: str = "tls", password: str = MAILBOX_PASSWORD, **fields
) -> OutgoingEmailSettings:
    config, _ = OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant,
        defaults={
            "use_server": "smtp",
            "from_email": "ar@acme.example",
            "sender_name": "Acme AR",
            "host": "localhost",
            "port": port,
            "username": MAILBOX_LOGIN,
            "password_encrypted": secrets.encrypt(password),
            "encryption": encryption,
            "last_result_ok": True,
            "last_result_code": "",
            **fields,
        },
    )
    return config


def queue(
    tenant, count: int = 1, *, to: str = "customer@client.example", kick: bool = True
) -> list[OutboundEmail]:
    """Queue `count` emails; with kick=False no worker is asked to deliver them."""
    return outbox_enqueue_many(
        tenant=tenant,
        kick=kick,
        emails=[
            NewEmail(
                to=[to],
                subject=f"Reminder {n}",
                text=f"Please pay invoice {n}.",
                html=f"<p>Invoice {n}</p>",
            )
            for n in range(count)
        ],
    )


def reload(emails: list[OutboundEmail]) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).order_by("id"))
