from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        from celery.signals import worker_shutting_down

        from outbox import shutdown

        worker_shutting_down.connect(shutdown.pass_on_to_children, weak=False)
