from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from celery.signals import worker_shutting_down
        from django.db.models.signals import post_save

        from outbox import shutdown
        from outbox.models import SendingLimits
        from yaypay_mail.models import Tenant

        def give_new_tenant_sending_limits(sender, instance, created, raw=False, **kwargs):
            # With the tenant, so that no page or claim has to create it on first read.
            if created and not raw:
                SendingLimits.objects.get_or_create(tenant_id=instance.pk)

        worker_shutting_down.connect(shutdown.pass_on_to_children, weak=False)
        post_save.connect(give_new_tenant_sending_limits, sender=Tenant, weak=False)
