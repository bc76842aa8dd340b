from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from routes import secrets
from routes.models import OutgoingEmailSettings


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    settings.FERNET_KEYS = [key]
    return key


def test_rotate_secrets_re_encrypts_with_the_newest_key(tenant_a, settings, old_key):
    config = OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"password_encrypted": secrets.encrypt("pw-1")}
    )[0]
    new_key = Fernet.generate_key().decode()
    settings.FERNET_KEYS = [new_key, old_key]
    call_command("rotate_secrets")
    config.refresh_from_db()
    assert Fernet(new_key.encode()).decrypt(config.password_encrypted.encode()) == b"pw-1"
    settings.FERNET_KEYS = [new_key]  # the old key can now be dropped
    assert secrets.decrypt(config.password_encrypted) == "pw-1"


def test_rotate_secrets_changes_nothing_when_a_token_opens_with_no_key(tenant_a, settings, old_key):
    config = OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"password_encrypted": secrets.encrypt("pw-1")}
    )[0]
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="opens with none of"):
        call_command("rotate_secrets")
    config.refresh_from_db()
    settings.FERNET_KEYS = [old_key]
    assert secrets.decrypt(config.password_encrypted) == "pw-1"
