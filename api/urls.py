# Included at the site root: the paths are full.
from __future__ import annotations

from django.urls import path

from . import views
from .v1 import api

urlpatterns = [
    path("settings/api-tokens/", views.token_list, name="api_tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", views.token_revoke, name="api_token_revoke"),
    path("api/v1/", api.urls),
]
