"""build_message writes bytes directly: they must parse back, with the stdlib parser, to
the message that was asked for, and to the same message the stdlib itself builds
(build_email_message), header by header and part by part."""

from __future__ import annotations

import email
import itertools
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address

import pytest
from django.core.validators import validate_email

from routes.messages import (
    SMTP_POLICY,
    PreparedMessage,
    build_message,
    new_message_id,
)
from routes.smtp import MailServer, SMTPConnection
from tests.settings_app.stdlib_reference import build_email_message
from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD

DATE = datetime(2026, 11, 25, 9, 30, 5, tzinfo=UTC)
MESSAGE_ID = "<179568118892.17073.2297547602163637078@acme.example>"

# Every address form the product's validate_email accepts, as (given, as sent).
ADDRESSES = [
    ("customer@client.example", "customer@client.example"),
    ("first.last+invoices@client.example", "first.last+invoices@client.example"),
    ("o'brien@client.example", "o'brien@client.example"),
    ("a!#$%&*/=?^_`{|}~-b@client.example", "a!#$%&*/=?^_`{|}~-b@client.example"),
    ("UPPER@Client.Example", "UPPER@Client.Example"),
    ("ap@bücher.example", "ap@xn--bcher-kva.example"),
    ("ap@例え.テスト", "ap@xn--r8jz45g.xn--zckzah"),
    ("ap@sub.münchen.example", "ap@sub.xn--mnchen-3ya.example"),
    ('"john..doe"@client.example', '"john..doe"@client.example'),
    ('"john\\ doe"@client.example', '"john doe"@client.example'),
    ('"john.doe"@client.example', "john.doe@client.example"),
    ('"a\\"b"@client.example', '"a\\"b"@client.example'),
    ('"a@b"@client.example', '"a@b"@client.example'),
    ("x@[192.0.2.1]", "x@[192.0.2.1]"),
    ("x@localhost", "x@localhost"),
    ("x" * 64 + "@" + "d" * 63 + ".example", "x" * 64 + "@" + "d" * 63 + ".example"),
]

NAMES = [
    "",
    "Acme AR",
    "Zoë AR",
    "Müller & Söhne GmbH",
    "中文 应收账款",
    "Ω Omega Ltd.",
    "Acme, Inc.",
    'The "Best" AR',
    "back\\slash",
    "شركة المدفوعات",
    "חברת תשלומים",
    "Acme 🧾 AR 👩‍💼",
    "=?utf-8?q?not_an_encoded_word?=",
    "Acme  AR ",
    "A very long sender name of a company " * 3,
    "Ünïcödé " * 12,
]

SUBJECTS = [
    "Invoice 1001 is overdue",
    "Payment reminder from Acme Corp: 2 overdue invoices",
    "Rappel: facture échue",
    "付款提醒：2 张逾期发票",
    "Ω " + "x" * 50,
    "word " * 59 + "end",  # 300 characters with spaces
    "x" * 300,  # and without
    "é" * 300,
    "تذكير بالدفع: فاتورتان متأخرتان",
    "תזכורת תשלום: 2 חשבוניות",
    "Reminder 🧾💸 for 👩‍👩‍👧‍👦",
    "=?utf-8?q?looks_encoded?= but is not",
    "A subject with  two spaces",
    "",
]

BODIES = [
    ("Please pay.\n", "<p>Please pay.</p>"),
    (".\n.leading dot\n..two dots\nFrom the accounts team\nFrom here\n", "<p>.</p>\nFrom x\n"),
    ("Grüße, Müller — bitte zahlen.\n中文 Ω 🧾\nشكرا\nתודה\n", "<p>Grüße — 中文 🧾</p>"),
    ("line one\r\nline two\nline three\rline four\r\n\r\nend", "<p>a</p>\r\n<p>b</p>\n"),
    ("x" * 5000 + "\n" + "é" * 2000 + "\n" + "y " * 3000, "<p>" + "z" * 3000 + "</p>"),
    ("trailing spaces   \nand tab\t\nend", "<p>= equals =3D and =?q?= </p>"),
    ("no final newline", "<p>no final newline</p>"),
    ("", "<p>only html</p>"),
    ("text only, no html", ""),
    ("Ω text only\n", ""),
    ("control \x00 \x0b \x0c \x1b \x7f in a body\n", ""),
]


def _cases():
    """A corpus that crosses names, subjects, bodies and addresses without the full
    product: every item of each list appears at least once."""
    size = max(len(NAMES), len(SUBJECTS), len(BODIES), len(ADDRESSES))
    names, subjects = itertools.cycle(NAMES), itertools.cycle(SUBJECTS)
    bodies, addresses = itertools.cycle(BODIES), itertools.cycle(ADDRESSES)
    for number in range(size + 3):
        (to, _), (cc, _), (reply, _) = next(addresses), next(addresses), next(addresses)
        text, html = next(bodies)
        yield pytest.param(
            {
                "from_email": "ar@acme.example" if number % 3 else "ar@bücher.example",
                "from_name": next(names),
                "to": [to] if number % 2 else [to, cc],
                "cc": [cc, reply] if number % 4 == 1 else [],
                "reply_to": reply if number % 3 != 2 else "",
                "subject": next(subjects),
                "text": text,
                "html": html,
            },
            id=f"case{number}",
        )


CASES = list(_cases())
SENT_AS = dict(ADDRESSES) | {"ar@acme.example": "ar@acme.example"}
SENT_AS["ar@bücher.example"] = "ar@xn--bcher-kva.example"


def _build(fields, builder=build_message):
    return builder(**fields, message_id=MESSAGE_ID, date=DATE)


def _parse(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def _lines(text: str) -> str:
    """What a body becomes: its lines (CRLF, LF or CR ending one) each ending in a newline
    (the stdlib's set_content("") gives one empty line too)."""
    return "".join(line.decode() + "\n" for line in text.encode().splitlines()) or "\n"


def _content(part) -> str:
    return part.get_content().replace("\r\n", "\n")


def _addresses(parsed, name):
    header = parsed[name]
    return [] if header is None else [(a.username, a.domain) for a in header.addresses]


def _sent_as(addresses):
    """(local part, domain) as sent: the stdlib parser unquotes a quoted local part."""
    return [(a.username, a.domain) for a in (Address(addr_spec=SENT_AS[x]) for x in addresses)]


def test_the_address_corpus_is_what_the_product_accepts():
    for given, _ in ADDRESSES:
        validate_email(given)


@pytest.mark.parametrize("fields", CASES)
def test_the_message_parses_back_to_what_was_asked(fields):
    prepared = _build(fields)
    assert isinstance(prepared, PreparedMessage)
    data = prepared.data
    assert max(data) < 128
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    head, _, _ = data.partition(b"\r\n\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    # Folded at 78, but an address, a quoted display name or one that is not plain ASCII
    # (one encoded word) is never split.
    for line in head.split(b"\r\n"):
        assert len(line) <= 78 or len(line.split()) <= 2 or line.startswith(b'From: "'), line

    parsed = _parse(data)
    assert not parsed.defects
    (sender,) = parsed["From"].addresses
    assert sender.display_name == fields["from_name"]
    assert sender.addr_spec == SENT_AS[fields["from_email"]] == prepared.sender
    assert _addresses(parsed, "To") == _sent_as(fields["to"])
    assert _addresses(parsed, "Cc") == _sent_as(fields["cc"])
    assert prepared.recipients == tuple(SENT_AS[a] for a in [*fields["to"], *fields["cc"]])
    reply_to = [fields["reply_to"]] if fields["reply_to"] else []
    assert _addresses(parsed, "Reply-To") == _sent_as(reply_to)
    assert parsed["Subject"] == fields["subject"]
    assert parsed["Message-ID"] == MESSAGE_ID == prepared.message_id
    assert parsed["Date"].datetime == DATE
    assert parsed["MIME-Version"] == "1.0"

    if fields["html"]:
        assert parsed.get_content_type() == "multipart/alternative"
        plain, html = parsed.iter_parts()
        assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
        assert _content(html) == _lines(fields["html"])
    else:
        assert not parsed.is_multipart()
        plain = parsed
    assert (plain.get_content_type(), plain.get_content_charset()) == ("text/plain", "utf-8")
    assert _content(plain) == _lines(fields["text"])
    for part in [parsed, *parsed.iter_parts()]:
        assert part["Content-Transfer-Encoding"] in (None, "7bit", "quoted-printable")


def _stdlib_can_build(fields) -> bool:
    # The stdlib writes an IDN domain as an encoded word (a message no server delivers):
    # those are checked above against their xn-- form instead.
    addresses = [fields["from_email"], fields["reply_to"], *fields["to"], *fields["cc"]]
    return all(address.isascii() for address in addresses)


_FIELD = {"From": "from_name", "Subject": "subject"}
# The stdlib writes these so that its own parser reads them back differently: a long
# non-ASCII display name as several encoded words (its parser keeps a space between
# them), and text that looks like an encoded word as it is (its parser decodes it).
STDLIB_MANGLES = {
    ("From", "Ünïcödé " * 12),
    ("From", "A very long sender name of a company " * 3),
    ("From", "=?utf-8?q?not_an_encoded_word?="),
    ("Subject", "=?utf-8?q?looks_encoded?= but is not"),
}


@pytest.mark.parametrize("fields", [case for case in CASES if _stdlib_can_build(case.values[0])])
def test_it_matches_the_stdlib_built_message_part_by_part(fields):
    ours = _parse(_build(fields).data)
    stdlib = _parse(_build(fields, build_email_message).as_bytes(policy=SMTP_POLICY))
    for name in ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version"):
        if (name, fields.get(_FIELD.get(name, ""))) in STDLIB_MANGLES:
            # The stdlib's own message does not parse back to what was asked (checked
            # here); ours does (the test above).
            assert ours[name] != stdlib[name]
            continue
        assert ours[name] == stdlib[name], name
    assert ours.get_content_type() == stdlib.get_content_type()
    ours_parts = list(ours.iter_parts()) or [ours]
    stdlib_parts = list(stdlib.iter_parts()) or [stdlib]
    assert len(ours_parts) == len(stdlib_parts)
    for mine, theirs in zip(ours_parts, stdlib_parts, strict=True):
        assert mine.get_content_type() == theirs.get_content_type()
        assert mine.get_content_charset() == theirs.get_content_charset()
        assert _content(mine) == _content(theirs)


@pytest.mark.parametrize(
    "field", ["from_email", "from_name", "to", "cc", "reply_to", "subject", "message_id"]
)
@pytest.mark.parametrize(
    "bad",
    ["\r\nBcc: victim@evil.example", "\n", "\r", "\x00", "\t", "\x1b", "\x7f", "\x85", "\u2028"],
)
def test_control_characters_in_any_header_value_are_refused(field, bad):
    fields = {
        "from_email": "ar@acme.example",
        "from_name": "Acme AR",
        "to": ["customer@client.example"],
        "cc": ["cc@client.example"],
        "reply_to": "reply@acme.example",
        "subject": "Invoice 1001 is overdue",
        "message_id": MESSAGE_ID,
    }
    if field in ("to", "cc"):
        fields[field] = [f"customer{bad}@client.example"]
    elif field == "message_id":
        fields[field] = MESSAGE_ID[:-1] + bad + ">"
    elif field.endswith("email") or field == "reply_to":
        fields[field] = fields[field].replace("@", bad + "@")
    else:
        fields[field] += bad
    with pytest.raises(ValueError):
        build_message(**fields, text="Please pay.", html="<p>Please pay.</p>")


@pytest.mark.parametrize(
    "address",
    [
        "zoë@client.example",  # a non-ASCII local part would need SMTPUTF8
        "customer@client.example, evil@evil.example",
        "Customer <customer@client.example>",
        "customer",
        "@client.example",
        "customer@",
        "customer@bad domain.example",
        "customer@-.example\u00ad\u0000",
    ],
)
def test_what_is_not_one_deliverable_address_is_refused(address):
    with pytest.raises(ValueError):
        build_message(from_email="ar@acme.example", to=[address], subject="Hi", text="Please pay.")


def test_text_that_cannot_be_utf8_is_refused():
    with pytest.raises(ValueError):
        build_message(from_email="ar@acme.example", to=["c@x.example"], subject="\ud800", text="t")
    with pytest.raises(ValueError):
        build_message(from_email="ar@acme.example", to=["c@x.example"], subject="s", text="\udfff")


def test_a_new_message_id_names_an_idn_domain_in_ascii():
    message_id = new_message_id("ar@bücher.example")
    assert message_id.endswith("@xn--bcher-kva.example>")
    prepared = build_message(
        from_email="ar@bücher.example", to=["c@x.example"], subject="s", text="t"
    )
    assert prepared.message_id.endswith("@xn--bcher-kva.example>")
    assert _parse(prepared.data)["Message-ID"] == prepared.message_id


def test_a_message_id_stored_with_an_idn_domain_goes_out_in_ascii():
    prepared = _build_with_id("<1.2.3@bücher.example>")
    assert prepared.message_id == "<1.2.3@xn--bcher-kva.example>"


def _build_with_id(message_id):
    return build_message(
        from_email="ar@acme.example",
        to=["c@x.example"],
        subject="s",
        text="t",
        message_id=message_id,
    )


def test_each_multipart_message_has_its_own_boundary():
    fields = {"from_email": "ar@acme.example", "to": ["c@x.example"], "subject": "s"}
    one = _parse(build_message(**fields, text="a", html="<p>a</p>").data)
    two = _parse(build_message(**fields, text="a", html="<p>a</p>").data)
    assert one.get_boundary() != two.get_boundary()


def test_the_transport_sends_both_kinds_of_message(starttls_server):
    server = MailServer(
        host="localhost",
        port=starttls_server.port,
        encryption="tls",
        addresses=("127.0.0.1",),
        username=MAILBOX_LOGIN,
        password=MAILBOX_PASSWORD,
    )
    fields = {
        "from_email": "ar@bücher.example",
        "from_name": "Zoë AR",
        "to": ["customer@münchen.example"],
        "cc": ['"john..doe"@client.example'],
        "subject": "Rappel: facture échue",
        "text": ".\nFrom here\nGrüße",
        "html": "<p>Grüße</p>",
    }
    reference = dict(fields, from_email="ar@acme.example", to=["customer@client.example"])
    with SMTPConnection(server) as connection:
        connection.send(build_message(**fields))
        connection.send(build_email_message(**reference))
    ours, stdlib = starttls_server.wait_for(2)
    assert ours.mail_from == "ar@xn--bcher-kva.example"
    # smtplib's quoteaddr() drops the quotes of a quoted local part on the envelope (as
    # it always did); the header keeps them.
    assert ours.rcpt_tos == ["customer@xn--mnchen-3ya.example", "john..doe@client.example"]
    assert ours.message["From"] == "Zoë AR <ar@xn--bcher-kva.example>"
    assert _content(ours.message.get_body(("plain",))) == ".\nFrom here\nGrüße\n"
    assert stdlib.mail_from == "ar@acme.example"
    assert stdlib.rcpt_tos == ["customer@client.example", "john..doe@client.example"]
    assert _content(stdlib.message.get_body(("plain",))) == ".\nFrom here\nGrüße\n"
