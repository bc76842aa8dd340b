from django.apps import AppConfig


class RoutesConfig(AppConfig):
    name = "routes"
    verbose_name = "Sending routes"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from routes.models import OutgoingEmailSettings
        from yaypay_mail.models import Tenant

        def give_new_tenant_outgoing_settings(sender, instance, created, raw=False, **kwargs):
            # With the tenant (the gateway until an admin picks a server), so that no
            # page has to create it on its first read.
            if created and not raw:
                OutgoingEmailSettings.objects.get_or_create(tenant_id=instance.pk)

        post_save.connect(give_new_tenant_outgoing_settings, sender=Tenant, weak=False)
