from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts: login limits and password reset"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import login_limit, logout_notice

        login_limit.connect()
        logout_notice.connect()
