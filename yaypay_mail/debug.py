from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class MaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, also masking *_URL settings and environment entries (a broker or
    gateway URL can carry a password) and anything named like a gateway."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|_URL$|GATEWAY", flags=re.IGNORECASE
    )

    def is_active(self, request):
        # Django cleanses only when DEBUG is off; a developer's debug page must not
        # show an SMTP password either.
        return True
