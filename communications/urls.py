# Included at the site root: the paths are full.
from django.urls import path

from communications import views

urlpatterns = [
    path("communications/", views.email_list, name="communications"),
    path("communications/export.csv", views.email_export, name="communications_export"),
    path("communications/resend/", views.email_bulk_resend, name="communications_resend"),
    path("communications/<int:pk>/", views.email_detail, name="email_detail"),
    path("communications/<int:pk>/resend/", views.email_resend, name="email_resend"),
]
