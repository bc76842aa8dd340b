"""The operators' view of the outbox: read-only, superusers only, with a Resend action.
Bodies never show (a message may carry a link or a code meant for its recipient only)."""

from __future__ import annotations

from django.contrib import admin, messages

from outbox.models import DeliveryAttempt, OutboundEmail, SendingLimits
from outbox.services import outbox_resend
from yaypay_mail.admin import ReadOnlyAdmin

# Never shown: the bodies (a message may carry a link or code for its recipient only).
HIDDEN_EMAIL_FIELDS = frozenset({"body_text", "body_html"})


def shown_fields(model, hidden: frozenset[str] = frozenset()) -> list[str]:
    """Every field of the model, in declaration order, less `hidden`: read from the
    model so that the admin follows it as it grows."""
    return [
        field.name
        for field in [*model._meta.concrete_fields, *model._meta.many_to_many]
        if field.name not in hidden
    ]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = readonly_fields = [
        name for name in shown_fields(DeliveryAttempt) if name not in {"id", "tenant", "email"}
    ]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "tenant",
        "customer",
        "status",
        "subject",
        "created_at",
        "sent_at",
        "error_code",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["tenant", "customer"]
    search_fields = ["subject", "message_id"]
    fields = readonly_fields = shown_fields(OutboundEmail, HIDDEN_EMAIL_FIELDS)
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def has_resend_permission(self, request) -> bool:
        # The view is read-only; Resend writes through the outbox's own service.
        return request.user.is_superuser

    @admin.action(description="Resend selected emails (Error only)", permissions=["resend"])
    def resend(self, request, queryset) -> None:
        queued, refused = 0, []
        for email in queryset.select_related("tenant").order_by("id"):
            result = outbox_resend(email=email)
            if result.ok:
                queued += 1
            else:
                refused.append(f"#{email.pk}: {result.message}")
        if queued:
            self.message_user(request, f"{queued} email(s) queued to send again.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"{len(refused)} email(s) not resent. " + " ".join(refused),
                messages.WARNING,
            )


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "tenant", "email", "outcome", "stage", "smtp_code", "worker"]
    list_filter = ["outcome", "stage"]
    list_select_related = ["tenant", "email"]
    search_fields = ["email__message_id", "reply"]
    fields = readonly_fields = shown_fields(DeliveryAttempt)


@admin.register(SendingLimits)
class SendingLimitsAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "per_minute_limit", "per_day_limit", "held_until"]
    list_select_related = ["tenant"]
    fields = readonly_fields = shown_fields(SendingLimits)
