from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    verbose_name = "Reminders"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from dunning.pre_send import prepare_reminders
        from dunning.tenant_setup import give_new_tenant_reminder_settings
        from outbox.hooks import register_pre_send
        from outbox.models import Kind
        from yaypay_mail.models import Tenant

        post_save.connect(give_new_tenant_reminder_settings, sender=Tenant, weak=False)
        register_pre_send(Kind.REMINDER, prepare_reminders)
