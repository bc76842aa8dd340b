# Included at the site root: the paths are full.
from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/<int:pk>/", views.statement, name="statement"),
    path("reports/aging/", views.aging, name="aging_report"),
]
