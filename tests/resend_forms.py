"""What a page's Resend forms would post as `next`, and a junk query parameter to bloat a URL."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

JUNK = {"junk": "x" * 60_000}

_NEXT = re.compile(r'<input type="hidden" name="next" value="([^"]*)">')


def resend_next_values(page: str) -> list[str]:
    """Each Resend form's `next`, unescaped, in page order."""
    return [html.unescape(value) for value in _NEXT.findall(page)]


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
