"""The tenant's time zone for every template, as `tenant_time_zone`.

The reminder settings hold it, and they belong to this app; pages of lower layers (the
outgoing-email settings) show times in it through this processor instead of importing
upward. The value is a callable, which templates call only where it is used, once per
request: pages that show no time run no query for it."""

from __future__ import annotations

from functools import cache


def tenant_time_zone(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}

    @cache
    def time_zone() -> str:
        from .services import reminder_settings_for

        return reminder_settings_for(tenant).time_zone

    return {"tenant_time_zone": time_zone}
