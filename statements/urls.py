# Included at the site root: the paths are full.
from django.urls import path

from . import customer_suggest, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/suggest/", customer_suggest.suggest, name="customer_suggest"),
    path("customers/<int:pk>/", views.statement, name="statement"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/pause/", views.customer_pause_view, name="customer_pause"),
    path("customers/<int:pk>/unpause/", views.customer_unpause_view, name="customer_unpause"),
    path("reports/aging/", views.aging, name="aging_report"),
    path("reports/aging/export.csv", views.aging_export, name="aging_export"),
]
