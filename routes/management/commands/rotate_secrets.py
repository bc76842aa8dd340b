from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from routes import secrets
from routes.models import OAuthConnection, OutgoingEmailSettings


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (SMTP passwords, OAuth refresh and access tokens) "
        "with the newest key in FERNET_KEYS."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            passwords = self._rotate(
                OutgoingEmailSettings.objects.exclude(password_encrypted=""),
                ("password_encrypted",),
                "password",
            )
            tokens = self._rotate(
                OAuthConnection.objects.all(),
                ("refresh_token_encrypted", "access_token_encrypted"),
                "connected mailbox's token",
            )
        self.stdout.write(
            f"Re-encrypted {passwords} password(s) and {tokens} connected mailbox(es) "
            "with the newest key."
        )

    def _rotate(self, queryset, fields: tuple[str, ...], what: str) -> int:
        rotated = 0
        for row in queryset.select_for_update().select_related("tenant"):
            for name in fields:
                if not getattr(row, name):
                    continue
                try:
                    setattr(row, name, secrets.rotate(getattr(row, name)))
                except secrets.SecretUnreadable:
                    raise CommandError(
                        f"The {what} of tenant {row.tenant.name!r} opens with none of "
                        "FERNET_KEYS; nothing was changed. Put the old key back at the end of "
                        "FERNET_KEYS and run again."
                    ) from None
            row.save(update_fields=list(fields))
            rotated += 1
        return rotated
