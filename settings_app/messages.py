"""The one message builder: every route (SMTP, the gateway) sends what this builds, so
the Message-ID, headers and parts are the same whichever way a message leaves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class _CachingHeaderRegistry(HeaderRegistry):
    """HeaderRegistry builds a new class with type() for every header and parses every
    value afresh: most of the cost of building a message. The classes depend only on
    the name, and the MIME headers that every message repeats parse to the same
    immutable (str) header objects, so both are kept."""

    _REPEATED = frozenset({"content-type", "content-transfer-encoding", "mime-version"})

    def __init__(self):
        super().__init__()
        self._classes: dict[str, type] = {}
        self._values: dict[tuple[str, str], object] = {}

    def __getitem__(self, name):
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name, value):
        if name.lower() not in self._REPEATED:
            return super().__call__(name, value)
        key = (name, value)
        header = self._values.get(key)
        if header is None:
            header = super().__call__(name, value)
            if len(self._values) < 1024:
                self._values[key] = header
        return header


# policy.SMTP, refusing CR/LF in headers, with the faster header factory; bodies are
# 7-bit (non-ASCII text goes quoted-printable), so no server needs 8BITMIME.
SMTP_POLICY = policy.SMTP.clone(header_factory=_CachingHeaderRegistry(), cte_type="7bit")


def build_message(
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
    """A text (and optional HTML) message. Header values with line breaks or other
    control characters are refused with ValueError."""
    for value in (from_email, from_name, reply_to, subject, message_id, *to, *cc):
        if _CONTROL.search(value):
            raise ValueError("Header values may not contain line breaks or control characters.")
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


def new_message_id(from_email: str) -> str:
    # Always pass a domain: make_msgid() would otherwise call getfqdn(), a DNS lookup.
    domain = from_email.rpartition("@")[2] or "yaypay.com"
    return make_msgid(domain=domain)
