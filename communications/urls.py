# Included at the site root: the paths are full.
from django.urls import path

from . import settings_views, views

urlpatterns = [
    path("communications/", views.email_list, name="communications"),
    path("communications/export.csv", views.email_export, name="communications_export"),
    path("communications/resend/", views.email_bulk_resend, name="communications_resend"),
    path("communications/<int:pk>/", views.email_detail, name="email_detail"),
    path("communications/<int:pk>/resend/", views.email_resend, name="email_resend"),
    path("settings/reminders/", settings_views.reminder_settings, name="reminder_settings"),
    path("settings/reminders/preview/", settings_views.reminder_preview, name="reminder_preview"),
]
