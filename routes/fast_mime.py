"""Cheap pieces of a MIME message: header fields, addresses and bodies encoded straight
to wire form (ASCII, CRLF, 7-bit), for routes.messages.build_message.

What the stdlib email package does through its policy and generator, done directly:

- headers fold at whitespace to lines of at most 78 octets; text that is not plain ASCII
  words (non-ASCII, an "=?" that would read as an encoded word, a word too long to fold)
  becomes RFC 2047 encoded words (utf-8, base64), each at most 75 octets, never splitting
  a character;
- addresses are checked and normalised the way email.headerregistry.Address does
  (quoting the local part only when needed); an internationalised domain is sent in its
  IDNA (xn--) form, in the header and on the envelope alike; a non-ASCII local part is
  refused (it would need SMTPUTF8, and the product's address validation never lets one in);
- bodies are utf-8 with CRLF line ends: 7bit when they are plain ASCII with lines of at
  most 998 octets, quoted-printable (lines of at most 76) otherwise.

Anything that cannot be encoded safely raises ValueError.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import lru_cache

MAX_LINE = 78  # RFC 5322's "SHOULD"; 998 is the hard limit, checked for every line
HARD_LIMIT = 998

CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_DOT_ATOM_RE = re.compile(_DOT_ATOM)
_PLAIN_ADDRESS = re.compile(rf"{_DOT_ATOM}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_HOSTNAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")
_DOMAIN_LITERAL = re.compile(r"\[[A-Za-z0-9:.]+\]")
_PHRASE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
_NOT_7BIT = re.compile(rb"[^\t\r\n\x20-\x7e]")

_EW_OVERHEAD = len("=?utf-8?b??=")
_EW_MAX_BYTES = (75 - _EW_OVERHEAD) // 4 * 3  # 45 octets of text: a 72-octet encoded word


def check_header_value(value: str) -> None:
    if CONTROL.search(value):
        raise ValueError("Header values may not contain line breaks or control characters.")


# --- header fields ----------------------------------------------------------------


def fold(name: str, tokens: list[str]) -> str:
    """`Name: tok tok ...`, folded before a token where the line would pass 78 octets."""
    line = name + ":"
    lines = []
    for token in tokens:
        if len(line) + 1 + len(token) > MAX_LINE and line != name + ":":
            lines.append(line)
            line = " " + token
        else:
            line += " " + token
    lines.append(line)
    for done in lines:
        if len(done) > HARD_LIMIT:
            raise ValueError(f"The {name} header is too long.")
    return "\r\n".join(lines) + "\r\n"


def encoded_words(text: str, first_room: int = 75) -> list[str]:
    """RFC 2047 encoded words (utf-8, base64) for text; the first fits in first_room
    octets, each at most 75, and no character is split between two words."""
    data = text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError, a ValueError
    words = []
    start = 0
    limit = max(3, (first_room - _EW_OVERHEAD) // 4 * 3)
    while start < len(data) or not words:
        end = min(start + min(limit, _EW_MAX_BYTES), len(data))
        while end < len(data) and end > start + 1 and (data[end] & 0xC0) == 0x80:
            end -= 1  # not inside a character's octets
        words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode("ascii") + "?=")
        start = end
        limit = _EW_MAX_BYTES
    return words


def unstructured(name: str, text: str) -> str:
    """A Subject-like field: plain words when they are plain, encoded words otherwise."""
    check_header_value(text)
    room = MAX_LINE - len(name) - 2
    if (
        _WORDS.fullmatch(text)
        and "=?" not in text
        and all(len(word) < room for word in text.split(" "))
    ):
        return fold(name, text.split(" "))
    if not text:
        return name + ": \r\n"
    return fold(name, encoded_words(text, room))


def mailbox_tokens(display_name: str, addr_spec: str) -> list[str]:
    """Tokens of `display-name <addr-spec>` (or of the bare address) for fold().

    A display name that is not plain ASCII goes as one encoded word, as
    email.utils.formataddr writes it: decoders disagree on the space between two
    encoded words of a phrase (RFC 2047 drops it, the stdlib parser keeps it), and a
    display name is short (OutgoingEmailSettings.sender_name is at most 100 characters)."""
    check_header_value(display_name)
    if not display_name:
        return [addr_spec]
    if "=?" not in display_name:
        if _PHRASE.fullmatch(display_name):
            return [*display_name.split(" "), f"<{addr_spec}>"]
        if _PRINTABLE_ASCII.fullmatch(display_name):
            quoted = display_name.replace("\\", "\\\\").replace('"', '\\"')
            return [f'"{quoted}"', f"<{addr_spec}>"]
    data = display_name.encode("utf-8")
    return ["=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?=", f"<{addr_spec}>"]


def address_list(name: str, addr_specs: list[str]) -> str:
    tokens = [address + "," for address in addr_specs]
    tokens[-1] = tokens[-1][:-1]
    return fold(name, tokens)


# --- addresses ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def addr_spec(value: str) -> str:
    """The address as it goes in headers and on the envelope (ASCII), or ValueError."""
    check_header_value(value)
    if _PLAIN_ADDRESS.fullmatch(value):
        return value
    if not value.isascii():
        local, at, domain = value.rpartition("@")
        if not at or not local.isascii():
            raise ValueError(
                f"{value!r} is not a deliverable email address (non-ASCII local part)."
            )
        value = f"{local}@{idna_domain(domain)}"
    try:
        parsed = Address(addr_spec=value)  # ValueError unless it is exactly one addr-spec
    except HeaderParseError:
        raise ValueError(f"{value!r} is not an email address.") from None
    local, domain = parsed.username, parsed.domain
    if not local or not (_HOSTNAME.fullmatch(domain) or _DOMAIN_LITERAL.fullmatch(domain)):
        raise ValueError(f"{value!r} is not an email address.")
    if not _DOT_ATOM_RE.fullmatch(local):  # Address.addr_spec would leave "a..b" unquoted
        local = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{local}@{domain}"


def idna_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (xn--) form."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{domain!r} is not a valid domain name.") from None
    if not _HOSTNAME.fullmatch(ascii_domain):
        raise ValueError(f"{domain!r} is not a valid domain name.")
    return ascii_domain


def message_id(value: str) -> str:
    check_header_value(value)
    value = value.strip()
    if not value.isascii():
        head, at, domain = value.rpartition("@")
        if at and domain.endswith(">") and head.isascii():
            value = f"{head}@{idna_domain(domain[:-1])}>"
    if not _MESSAGE_ID.fullmatch(value) or len(value) > 900:
        raise ValueError(f"{value!r} is not a Message-ID.")
    return value


# --- bodies -------------------------------------------------------------------------


def encode_body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body with CRLF line ends and a final CRLF)."""
    data = text.encode("utf-8")
    lines = data.splitlines()  # CRLF, LF and lone CR all end a line
    if (
        data.isascii()
        and not _NOT_7BIT.search(data)
        and max(map(len, lines), default=0) <= HARD_LIMIT
    ):
        return "7bit", b"\r\n".join(lines) + b"\r\n"
    encoded = binascii.b2a_qp(b"\n".join(lines) + b"\n", quotetabs=False, istext=True)
    return "quoted-printable", encoded.replace(b"\n", b"\r\n")
