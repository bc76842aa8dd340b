"""Tenant scoping: the middleware that finds the user's tenant, and the one lookup helper."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Membership, Role


class TenantMiddleware:
    """Sets request.membership and request.tenant (None for users outside any tenant)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.membership = None
        request.tenant = None
        if request.user.is_authenticated:
            membership = (
                Membership.objects.select_related("tenant").filter(user=request.user).first()
            )
            if membership is not None:
                request.membership = membership
                request.tenant = membership.tenant
        return self.get_response(request)


def tenant_context(request: HttpRequest) -> dict:
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
    }


def require_role(request: HttpRequest, *roles: str) -> None:
    """403 unless the user belongs to a tenant (with one of `roles`, when given)."""
    membership = getattr(request, "membership", None)
    if membership is None or (roles and membership.role not in roles):
        raise PermissionDenied


def role_required(*roles: str) -> Callable:
    """View decorator form of require_role; no roles means any member of a tenant."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_role(request, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)


def get_for_tenant(
    request: HttpRequest, model: type[models.Model], pk, *, roles: tuple[str, ...] = ()
) -> models.Model:
    """The object with `pk` in the user's tenant: 404 for another tenant's, 403 for a role
    that may not act on it."""
    require_role(request)
    obj = get_object_or_404(model, pk=pk, tenant=request.tenant)
    if roles:
        require_role(request, *roles)
    return obj
