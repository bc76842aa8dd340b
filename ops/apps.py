from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from celery.signals import setup_logging

        # Celery replaces the root logger's handlers with its own format unless a
        # receiver answers this signal: keep Django's LOGGING (LOG_FORMAT, LOG_LEVEL) in
        # the worker and beat too. Celery sets Django up before it sets up logging.
        setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="ops.logging")


def _keep_django_logging(**kwargs) -> None:
    """Django's LOGGING is already in force (django.setup() applied it)."""
