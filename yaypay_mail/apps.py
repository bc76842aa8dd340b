from django.apps import AppConfig


class YaypayMailConfig(AppConfig):
    name = "yaypay_mail"
    verbose_name = "Tenants"
