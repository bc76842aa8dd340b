"""Writes on the core: tenants and their members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import Membership, Role, Tenant


@transaction.atomic
def tenant_create(*, name: str, admin_email: str, admin_password: str) -> Tenant:
    name = name.strip()
    if not name:
        raise ValidationError("The tenant needs a name.")
    if Tenant.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A tenant named {name!r} already exists.")
    tenant = Tenant.objects.create(name=name)
    member_add(tenant=tenant, email=admin_email, password=admin_password, role=Role.ADMIN)
    return tenant


def member_add(*, tenant: Tenant, email: str, password: str, role: str) -> Membership:
    email = email.strip().lower()
    validate_email(email)
    if role not in Role.values:
        raise ValidationError(f"Role must be one of: {', '.join(Role.values)}.")
    user_model = get_user_model()
    if user_model.objects.filter(email__iexact=email).exists():
        raise ValidationError(f"{email} already has an account; a user belongs to one tenant.")
    user = user_model(username=email, email=email)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    return Membership.objects.create(user=user, tenant=tenant, role=role)
