"""build_message with an inline image (the reminder's logo): multipart/alternative(text,
multipart/related(html, image)), read back by the stdlib parser with the image intact and
its Content-ID the one the HTML points to; the wire form stays 7-bit with short lines."""

from __future__ import annotations

import email
import os
from email import policy

import pytest

from routes.messages import InlineImage, build_message

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(5000)
CID = "logo@reminders.yaypay.com"
HTML = f'<html><body><img src="cid:{CID}" alt="Acme"><p>Zoë owes 1,250.50 €</p></body></html>'


def built(**overrides):
    args = dict(
        from_email="ar@acme.example",
        from_name="Acme AR",
        to=["ap@client.example"],
        subject="Payment reminder",
        text="Zoë owes 1,250.50 €\n",
        html=HTML,
        inline_image=InlineImage(data=PNG, content_type="image/png", content_id=CID),
    )
    args.update(overrides)
    return build_message(**args)


def parsed(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def test_the_parser_reads_text_html_and_the_image_back():
    message = parsed(built().data)
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.get_payload()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().replace("\r\n", "\n") == "Zoë owes 1,250.50 €\n"
    assert related.get_content_type() == "multipart/related"
    assert related.get_param("type") == "text/html"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == HTML
    assert image.get_content_type() == "image/png"
    assert image.get_content() == PNG
    assert image["Content-Disposition"].startswith("inline")


def test_the_content_id_is_the_one_the_html_points_to():
    message = parsed(built().data)
    _, related = message.get_payload()
    html, image = related.get_payload()
    content_id = image["Content-ID"]
    assert content_id == f"<{CID}>"
    assert f'src="cid:{content_id.strip("<>")}"' in html.get_content()
    # What mail clients use to show the image: the HTML body's best part and its related.
    body = message.get_body(preferencelist=("html",))
    assert body.get_content_type() == "text/html"


def test_the_wire_form_stays_7bit_with_base64_lines_of_76():
    data = built().data
    assert data.isascii()
    lines = data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert b"\n" not in data.replace(b"\r\n", b"")
    start = data.index(b"Content-ID:")
    image_lines = data[start:].split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    base64_lines = [line for line in image_lines if line and not line.startswith(b"--")]
    assert max(len(line) for line in base64_lines) == 76
    assert all(len(line) <= 76 for line in base64_lines)


def test_a_jpeg_keeps_its_type():
    jpeg = b"\xff\xd8\xff\xe0" + b"JFIF" + bytes(range(256))
    message = parsed(
        built(inline_image=InlineImage(data=jpeg, content_type="image/jpeg", content_id=CID)).data
    )
    (_, image) = message.get_payload()[1].get_payload()
    assert image.get_content_type() == "image/jpeg"
    assert image.get_content() == jpeg


def test_without_an_image_the_message_is_the_plain_alternative():
    message = parsed(built(inline_image=None).data)
    assert [part.get_content_type() for part in message.get_payload()] == [
        "text/plain",
        "text/html",
    ]


@pytest.mark.parametrize(
    "image,html",
    [
        (InlineImage(data=PNG, content_type="text/html", content_id=CID), HTML),
        (InlineImage(data=b"", content_type="image/png", content_id=CID), HTML),
        (InlineImage(data=PNG, content_type="image/png", content_id="lo go\r\n@x"), HTML),
        (InlineImage(data=PNG, content_type="image/png", content_id=CID), ""),
    ],
)
def test_what_cannot_be_sent_safely_is_refused(image, html):
    with pytest.raises(ValueError):
        built(inline_image=image, html=html)
