"""The one message builder: every route (SMTP, the gateway) sends what this builds, so
the Message-ID, headers and parts are the same whichever way a message leaves.

build_message() writes the message's bytes once, from header fields and bodies encoded
by routes.fast_mime and a fixed MIME skeleton, and returns a PreparedMessage
(envelope sender and recipients, Message-ID, bytes). Building it with the stdlib
EmailMessage cost about 1 ms a message, the largest part of a delivery's CPU."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.utils import format_datetime, make_msgid
from functools import lru_cache

from django.utils import timezone

from routes import fast_mime

# For an EmailMessage handed to the transport (the tests' stdlib reference): refuses
# CR/LF in headers, and bodies are 7-bit (non-ASCII text goes quoted-printable).
SMTP_POLICY = policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A message ready for the wire: what SMTPConnection.send() needs and nothing else."""

    sender: str  # envelope MAIL FROM (ASCII; an IDN domain in its xn-- form)
    recipients: tuple[str, ...]  # envelope RCPT TO: To, then Cc
    message_id: str
    data: bytes  # the message, CRLF line ends, 7-bit, without SMTP dot-stuffing


@dataclass(frozen=True, slots=True)
class InlineImage:
    """An image the HTML part shows by `cid:<content_id>` (a tenant's logo)."""

    data: bytes
    content_type: str  # image/png or image/jpeg
    content_id: str  # without angle brackets: `logo@yaypay.com`


_IMAGE_TYPE = re.compile(r"image/[a-z0-9.+-]+")
_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}

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
    inline_image: InlineImage | None = None,
) -> PreparedMessage:
    """A text (and optional HTML, as multipart/alternative) message, encoded once, straight
    to bytes. With `inline_image` the HTML part and the image go together in a
    multipart/related: multipart/alternative(text, multipart/related(html, image)). Header values with line breaks or other control characters, addresses that
    are not one deliverable address, and anything else that cannot be encoded safely are
    refused with ValueError."""
    if inline_image is not None and not html:
        raise ValueError("An inline image needs an HTML part to show it.")
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
        html_part = [(_TEXT_PART.format("html", html_cte)).encode("ascii"), html_body]
        if inline_image is not None:
            html_part = _related(html_part, inline_image)
        boundary = _boundary(text_body, *html_part)
        head.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n')
        delimiter = f"--{boundary}\r\n"
        data = b"".join(
            (
                "".join(head).encode("ascii"),
                (delimiter + _TEXT_PART.format("plain", text_cte)).encode("ascii"),
                text_body,
                ("\r\n" + delimiter).encode("ascii"),
                *html_part,
                f"\r\n--{boundary}--\r\n".encode("ascii"),
            )
        )
    return PreparedMessage(
        sender=sender,
        recipients=(*to_specs, *cc_specs),
        message_id=message_id,
        data=data,
    )


def _related(html_part: list[bytes], image: InlineImage) -> list[bytes]:
    """The HTML part (its header lines and body) and the image in a multipart/related,
    the image base64 in lines of 76."""
    if not _IMAGE_TYPE.fullmatch(image.content_type):
        raise ValueError(f"{image.content_type!r} is not an image type.")
    if not image.data:
        raise ValueError("The inline image is empty.")
    content_id = fast_mime.message_id(f"<{image.content_id.strip('<>')}>")
    encoded = base64.encodebytes(image.data).replace(b"\n", b"\r\n")
    filename = "logo." + _IMAGE_EXTENSIONS.get(image.content_type, "img")
    boundary = _boundary(*html_part, encoded)
    delimiter = f"--{boundary}\r\n"
    return [
        f'Content-Type: multipart/related;\r\n boundary="{boundary}";\r\n'
        f' type="text/html"\r\n\r\n{delimiter}'.encode("ascii"),
        *html_part,
        (
            f"\r\n{delimiter}Content-Type: {image.content_type}\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f"Content-ID: {content_id}\r\n"
            f'Content-Disposition: inline; filename="{filename}"\r\n\r\n'
        ).encode("ascii"),
        encoded,
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ]


def _boundary(*bodies: bytes) -> str:
    # "=_" never occurs in quoted-printable text, and 96 random bits never in the rest.
    while True:
        boundary = "=_" + os.urandom(12).hex()
        marker = boundary.encode("ascii")
        if not any(marker in body for body in bodies):
            return boundary


def new_message_id(from_email: str) -> str:
    # Always pass a domain: make_msgid() would otherwise call getfqdn(), a DNS lookup.
    domain = from_email.rpartition("@")[2] or "yaypay.com"
    if not domain.isascii():
        domain = fast_mime.idna_domain(domain)
    return make_msgid(domain=domain)
