"""The /api/v1/ NinjaAPI: token auth on every endpoint, one error shape, no login redirect.

The OpenAPI document (/api/v1/openapi.json) and the docs page (/api/v1/docs, Swagger UI
served from ninja's own static files, no CDN) need no token."""

from __future__ import annotations

from django.urls import URLPattern
from ninja import NinjaAPI

from . import emails, records
from .auth import BearerToken
from .errors import JsonParser, install_handlers


class TokenApi(NinjaAPI):
    """Marks every view login_not_required: LoginRequiredMiddleware must not redirect API
    clients to the login page (a token, not a session, authenticates them). Ninja's views
    are already CSRF-exempt."""

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback.login_required = False
        return patterns


api = TokenApi(
    title="YayPay Mail API",
    version="1",
    description=(
        "Customers and invoices in (upserts on the ERP's keys), outgoing emails out. "
        "Authenticate with `Authorization: Bearer <token>` (Settings | API tokens)."
    ),
    auth=BearerToken(),
    parser=JsonParser(),
    urls_namespace="api_v1",
)
install_handlers(api)
api.add_router("", records.router)
api.add_router("", emails.router)
