from django.urls import path

from settings_app import oauth_views, views

urlpatterns = [
    path("email/outgoing/", views.outgoing_email, name="outgoing_email"),
    path("email/oauth/<str:provider>/connect/", oauth_views.connect, name="oauth_connect"),
    path("email/oauth/<str:provider>/callback/", oauth_views.callback, name="oauth_callback"),
    path(
        "email/oauth/<str:provider>/disconnect/",
        oauth_views.disconnect_view,
        name="oauth_disconnect",
    ),
]
