from django.apps import AppConfig


class CommunicationsConfig(AppConfig):
    name = "communications"

    def ready(self) -> None:
        from celery.signals import worker_shutting_down

        from . import shutdown

        worker_shutting_down.connect(shutdown.pass_on_to_children, weak=False)
