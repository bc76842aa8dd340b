"""The operators' Django admin shows no password and cannot re-point a tenant's server."""

from __future__ import annotations

from django.test import Client

from routes import secrets
from routes.models import OutgoingEmailSettings


def test_the_admin_never_shows_the_password_and_keeps_server_fields_read_only(
    tenant_a, django_user_model
):
    token = secrets.encrypt("Plain-Admin-Pw-1")
    config = OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a,
        defaults={
            "use_server": "smtp",
            "host": "smtp.example.com",
            "port": 587,
            "username": "u",
            "password_encrypted": token,
        },
    )[0]
    operator = django_user_model.objects.create_superuser(
        "ops@yaypay.example", "ops@yaypay.example", "ops-pw-2026-x"
    )
    client = Client()
    client.force_login(operator, backend="yaypay_mail.auth.EmailBackend")
    url = f"/admin/routes/outgoingemailsettings/{config.pk}/change/"
    page = client.get(url).content.decode()
    assert "smtp.example.com" in page
    assert "Plain-Admin-Pw-1" not in page and token not in page
    assert 'name="host"' not in page and 'name="password_encrypted"' not in page

    client.post(url, {"host": "evil.example", "port": "25", "username": "u"})
    config.refresh_from_db()
    assert (config.host, config.port, config.password_encrypted) == ("smtp.example.com", 587, token)
