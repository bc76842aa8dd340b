# Included at the site root: the paths are full.
from django.urls import path

from dunning import views

urlpatterns = [
    path("settings/reminders/", views.reminder_settings, name="reminder_settings"),
    path("settings/reminders/preview/", views.reminder_preview, name="reminder_preview"),
]
