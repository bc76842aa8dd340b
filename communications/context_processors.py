"""The tenant's time zone for every template, as `tenant_time_zone`.

The reminder settings hold it, and they belong to this app; pages of lower layers (the
outgoing-email settings) show times in it through this processor instead of importing
upward. The value is a callable, which templates call only where it is used, once per
request: pages that show no time run no query for it.

Also the tenant's locale (en_US, de_DE, ...) as `tenant_locale`, for the tags of
yaypay_mail/templatetags/locale_format.py, in the same lazy way. A view that has read the
reminder settings already passes the string instead."""

from __future__ import annotations

from functools import cache


def tenant_time_zone(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}

    @cache
    def reminder_settings():
        from dunning.services import reminder_settings_for

        return reminder_settings_for(tenant)

    def time_zone() -> str:
        return tenant.time_zone

    def locale() -> str:
        return reminder_settings().locale

    return {"tenant_time_zone": time_zone, "tenant_locale": locale}
