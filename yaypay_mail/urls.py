from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("settings/", include("settings_app.urls")),
    path("imports/", include("imports.urls")),
    path("", include("dunning.urls")),
    path("", include("communications.urls")),
    path("", include("statements.urls")),
    path("", include("ops.urls")),
    path("", include("api.urls")),
]
