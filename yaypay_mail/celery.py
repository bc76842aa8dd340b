"""The Celery app. Tasks are found by autodiscovery, so the core imports no app."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yaypay_mail.settings")

app = Celery("yaypay_mail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
