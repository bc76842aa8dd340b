from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.imports_home, name="imports"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/status.json", views.import_status, name="import_status"),
    path("<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("samples/<str:kind>.csv", views.import_sample, name="import_sample"),
]
