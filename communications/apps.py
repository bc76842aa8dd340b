from django.apps import AppConfig


class CommunicationsConfig(AppConfig):
    name = "communications"

    def ready(self) -> None:
        from celery.signals import worker_shutting_down
        from django.db.models.signals import post_save

        from yaypay_mail.models import Tenant

        from . import shutdown
        from .tenant_setup import give_new_tenant_reminder_settings

        worker_shutting_down.connect(shutdown.pass_on_to_children, weak=False)
        post_save.connect(give_new_tenant_reminder_settings, sender=Tenant, weak=False)
