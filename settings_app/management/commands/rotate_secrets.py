from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from settings_app import secrets
from settings_app.models import OutgoingEmailSettings


class Command(BaseCommand):
    help = "Re-encrypt every stored SMTP password with the newest key in FERNET_KEYS."

    def handle(self, *args, **options):
        rotated = 0
        with transaction.atomic():
            rows = OutgoingEmailSettings.objects.select_for_update().exclude(password_encrypted="")
            for config in rows:
                try:
                    config.password_encrypted = secrets.rotate(config.password_encrypted)
                except secrets.SecretUnreadable:
                    raise CommandError(
                        f"The password of tenant {config.tenant.name!r} opens with none of "
                        "FERNET_KEYS; nothing was changed. Put the old key back at the end of "
                        "FERNET_KEYS and run again."
                    ) from None
                config.save(update_fields=["password_encrypted"])
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} password(s) with the newest key.")
