"""What a tenant's reminders say and show, read in one query: its ReminderTemplate (empty
fields mean the product's defaults), its locale, whether a reply reaches anybody, and,
for delivery only, the logo's bytes."""

from __future__ import annotations

from dataclasses import dataclass

from yaypay_mail.formatting import DEFAULT_LOCALE
from yaypay_mail.models import Tenant

# The logo's Content-ID: the stored HTML shows it as cid:LOGO_CID, the message builder
# attaches it under that id. One per message, so the same for every tenant.
LOGO_CID = "logo@reminders.yaypay.com"

_FIELDS = {
    "locale": "reminder_settings__locale",
    "subject": "reminder_template__subject",
    "opening": "reminder_template__opening",
    "closing": "reminder_template__closing",
    "how_to_pay": "reminder_template__how_to_pay",
    "contact_line": "reminder_template__contact_line",
    "logo_content_type": "reminder_template__logo_content_type",
    "from_email": "outgoing_email__from_email",
}
_CACHE_ATTR = "_reminder_look"


@dataclass(frozen=True)
class ReminderLook:
    locale: str = DEFAULT_LOCALE
    subject: str = ""
    opening: str = ""
    closing: str = ""
    how_to_pay: str = ""
    contact_line: str = ""
    logo_content_type: str = ""
    # A reply reaches the tenant only when it saved a From address (its own server's
    # From, or the gateway's Reply-To): without one the email promises no reply.
    replies_reach_tenant: bool = False
    logo: bytes | None = None  # loaded only for delivery (with_logo=True)

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_content_type)


def load_look(tenant: Tenant, *, with_logo: bool = False) -> ReminderLook:
    columns = dict(_FIELDS)
    if with_logo:
        columns["logo"] = "reminder_template__logo"
    row = Tenant.objects.filter(pk=tenant.pk).values(*columns.values()).first() or {}
    values = {name: row.get(column) for name, column in columns.items()}
    logo = values.pop("logo", None)
    return ReminderLook(
        locale=values["locale"] or DEFAULT_LOCALE,
        subject=values["subject"] or "",
        opening=values["opening"] or "",
        closing=values["closing"] or "",
        how_to_pay=values["how_to_pay"] or "",
        contact_line=values["contact_line"] or "",
        logo_content_type=values["logo_content_type"] or "",
        replies_reach_tenant=bool(values["from_email"]),
        logo=bytes(logo) if logo else None,
    )


def look_for(tenant: Tenant) -> ReminderLook:
    """The tenant's look, read once per Tenant instance: a scheduling run renders all its
    customers' reminders from one read (the instance lives as long as the run)."""
    cached = tenant.__dict__.get(_CACHE_ATTR)
    if cached is None:
        cached = load_look(tenant)
        remember_look(tenant, cached)
    return cached


def remember_look(tenant: Tenant, look: ReminderLook) -> None:
    """Hand an already read look to a Tenant instance (a delivery batch reads it once for
    all its messages, whose tenants are distinct instances)."""
    tenant.__dict__[_CACHE_ATTR] = look
