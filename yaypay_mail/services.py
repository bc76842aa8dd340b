"""Writes on the core: tenants and their members."""

from __future__ import annotations

import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .auth import normalise_login
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
    """A new user of `tenant`. The login key (`username`) is the normalised address; an
    address that normalises to an existing one is refused."""
    typed = email.strip()
    email = unicodedata.normalize("NFKC", typed)  # full-width letters as what they mean
    validate_email(email)
    if role not in Role.values:
        raise ValidationError(f"Role must be one of: {', '.join(Role.values)}.")
    login = normalise_login(email)
    user_model = get_user_model()
    existing = user_model.objects.filter(username=login).first()
    if existing is not None:
        if existing.email.lower() == typed.lower():
            raise ValidationError(f"{typed} already has an account; a user belongs to one tenant.")
        raise ValidationError(
            f"{typed} is the same login as the existing account {existing.email} once case "
            "and character width are normalised; use another address."
        )
    user = user_model(username=login, email=email.lower())
    validate_password(password, user)
    user.set_password(password)
    user.save()
    return Membership.objects.create(user=user, tenant=tenant, role=role)
