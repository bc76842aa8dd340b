"""The one message builder: every route (SMTP, the gateway) sends what this builds, so
the Message-ID, headers and parts are the same whichever way a message leaves.

build_message() writes the message's bytes once, from header fields and bodies encoded
by settings_app.fast_mime and a fixed MIME skeleton, and returns a PreparedMessage
(envelope sender and recipients, Message-ID, bytes). Building it with the stdlib
EmailMessage cost about 1 ms a message, the largest part of a delivery's CPU.
build_email_message() still builds the stdlib's EmailMessage: the reference that
tests/settings_app/test_messages_roundtrip.py compares build_message() with."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache

from django.utils import timezone

from . import fast_mime
from .fast_mime import check_header_value


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


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A message ready for the wire: what SMTPConnection.send() needs and nothing else."""

    sender: str  # envelope MAIL FROM (ASCII; an IDN domain in its xn-- form)
    recipients: tuple[str, ...]  # envelope RCPT TO: To, then Cc
    message_id: str
    data: bytes  # the message, CRLF line ends, 7-bit, without SMTP dot-stuffing


_TEXT_PART = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: {}\r\n\r\n'


@lru_cache(maxsize=256)
def _from_fields(from_email: str, from_name: str, reply_to: str) -> tuple[str, str, str]:
    """(envelope sender, From field, Reply-To field or ""): the same for every message of
    one tenant identity, so encoded once."""
    sender = fast_mime.addr_spec(from_email)
    from_field = fast_mime.fold("From", fast_mime.mailbox_tokens(from_name, sender))
    reply_field = fast_mime.fold("Reply-To", [fast_mime.addr_spec(reply_to)]) if reply_to else ""
    return sender, from_field, reply_field


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
) -> PreparedMessage:
    """A text (and optional HTML, as multipart/alternative) message, encoded once, straight
    to bytes. Header values with line breaks or other control characters, addresses that
    are not one deliverable address, and anything else that cannot be encoded safely are
    refused with ValueError."""
    sender, from_field, reply_field = _from_fields(from_email, from_name, reply_to)
    to_specs = [fast_mime.addr_spec(address) for address in to]
    cc_specs = [fast_mime.addr_spec(address) for address in cc]
    if not to_specs:
        raise ValueError("A message needs at least one recipient.")
    message_id = fast_mime.message_id(message_id) if message_id else new_message_id(from_email)
    head = [
        from_field,
        fast_mime.address_list("To", to_specs),
        fast_mime.address_list("Cc", cc_specs) if cc_specs else "",
        reply_field,
        fast_mime.unstructured("Subject", subject),
        f"Date: {format_datetime(date or timezone.now())}\r\n",
        f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n",
    ]
    text_cte, text_body = fast_mime.encode_body(text)
    if not html:
        head.append(_TEXT_PART.format("plain", text_cte))
        data = "".join(head).encode("ascii") + text_body
    else:
        html_cte, html_body = fast_mime.encode_body(html)
        boundary = _boundary(text_body, html_body)
        head.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n')
        delimiter = f"--{boundary}\r\n"
        data = b"".join(
            (
                "".join(head).encode("ascii"),
                (delimiter + _TEXT_PART.format("plain", text_cte)).encode("ascii"),
                text_body,
                ("\r\n" + delimiter + _TEXT_PART.format("html", html_cte)).encode("ascii"),
                html_body,
                f"\r\n--{boundary}--\r\n".encode("ascii"),
            )
        )
    return PreparedMessage(
        sender=sender,
        recipients=(*to_specs, *cc_specs),
        message_id=message_id,
        data=data,
    )


def _boundary(*bodies: bytes) -> str:
    # "=_" never occurs in quoted-printable text, and 96 random bits never in the rest.
    while True:
        boundary = "=_" + os.urandom(12).hex()
        marker = boundary.encode("ascii")
        if not any(marker in body for body in bodies):
            return boundary


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


def new_message_id(from_email: str) -> str:
    # Always pass a domain: make_msgid() would otherwise call getfqdn(), a DNS lookup.
    domain = from_email.rpartition("@")[2] or "yaypay.com"
    if not domain.isascii():
        domain = fast_mime.idna_domain(domain)
    return make_msgid(domain=domain)
