from django.contrib import admin

from routes.models import OutgoingEmailSettings
from settings_app.models import SettingsAuditEntry
from yaypay_mail.admin import ReadOnlyAdmin, SuperuserOnlyAdmin


@admin.register(OutgoingEmailSettings)
class OutgoingEmailSettingsAdmin(SuperuserOnlyAdmin):
    """Operators may look, not re-point: the server fields change only on the settings
    page, where a new server needs the password typed again. The password never shows."""

    list_display = [
        "tenant",
        "use_server",
        "from_email",
        "host",
        "port",
        "last_result_ok",
        "last_tested_at",
    ]
    list_filter = ["use_server", "last_result_ok"]
    exclude = ["password_encrypted"]
    readonly_fields = [
        "tenant",
        "use_server",
        "from_email",
        "sender_name",
        "host",
        "port",
        "username",
        "encryption",
        "password_stored",
        "last_tested_at",
        "last_result_ok",
        "last_result_code",
        "last_result_message",
        "updated_at",
    ]

    @admin.display(boolean=True, description="Password stored")
    def password_stored(self, obj):
        return obj.has_password

    def has_add_permission(self, request):
        return False


@admin.register(SettingsAuditEntry)
class SettingsAuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "tenant", "actor", "action", "changed_fields", "result_ok"]
    list_filter = ["action", "result_ok"]
