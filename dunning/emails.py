"""Renders an email from its template set: <name>_subject.txt, <name>_body.txt, <name>_body.html."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, context: dict) -> RenderedEmail:
    subject = render_to_string(f"emails/{name}_subject.txt", context)
    return RenderedEmail(
        subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
        text=render_to_string(f"emails/{name}_body.txt", context),
        html=render_to_string(f"emails/{name}_body.html", context),
    )
