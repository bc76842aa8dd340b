"""The stdlib's own build of a product message (email.message.EmailMessage), as the
product built it before routes.messages wrote bytes directly: the reference the
round-trip tests compare build_message with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone

from routes.fast_mime import check_header_value
from routes.messages import SMTP_POLICY, new_message_id


def build_email_message(
    *,
    from_email: str,
    from_name: str = "",
    to: Sequence[str],
    cc: Sequence[str] = (),
    reply_to: str = "",
    subject: str,
    text: str,
    html: str = "",
    message_id: str = "",
    date: datetime | None = None,
) -> EmailMessage:
    """The same message built by the stdlib (email.message.EmailMessage), as the product
    did before build_message wrote bytes directly: the reference the round-trip tests
    compare build_message with. Not used to send."""
    for value in (from_email, from_name, reply_to, subject, message_id, *to, *cc):
        check_header_value(value)
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = Address(display_name=from_name, addr_spec=from_email)
    message["To"] = [Address(addr_spec=address) for address in to]
    if cc:
        message["Cc"] = [Address(addr_spec=address) for address in cc]
    if reply_to:
        message["Reply-To"] = Address(addr_spec=reply_to)
    message["Subject"] = subject
    message["Date"] = format_datetime(date or timezone.now())
    message["Message-ID"] = message_id or new_message_id(from_email)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message
