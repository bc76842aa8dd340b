from django.urls import path

from . import views

urlpatterns = [
    path("email/outgoing/", views.outgoing_email, name="outgoing_email"),
]
