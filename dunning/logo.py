"""The reminder's logo: a PNG or JPEG of at most 200 KB, recognised by its first bytes
(its name and the browser's content type say nothing reliable)."""

from __future__ import annotations

import base64

MAX_LOGO_BYTES = 200 * 1024

_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


class LogoError(ValueError):
    pass


def image_type(data: bytes) -> str | None:
    for signature, content_type in _SIGNATURES.items():
        if data.startswith(signature):
            return content_type
    return None


def read_logo(upload) -> tuple[bytes, str]:
    """(bytes, content type) of an uploaded file, or LogoError saying what is wrong."""
    if upload.size is not None and upload.size > MAX_LOGO_BYTES:
        raise LogoError("The logo is larger than 200 KB. Save it smaller and upload it again.")
    data = upload.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError("The logo is larger than 200 KB. Save it smaller and upload it again.")
    content_type = image_type(data)
    if content_type is None:
        raise LogoError(
            "The logo must be a PNG or JPEG image. SVG and other formats are not shown "
            "by every mail program."
        )
    return data, content_type


def data_url(data: bytes, content_type: str) -> str:
    """For the settings page's preview, where no cid: part exists."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
