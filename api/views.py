"""Settings | API tokens: admins create tokens (shown once) and revoke them."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from yaypay_mail.tenancy import admin_required, get_for_tenant

from . import tokens
from .forms import TokenCreateForm
from .models import ApiToken


@never_cache
@admin_required
def token_list(request):
    """The list; a POST creates a token and shows it on this one answer only."""
    created = None
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            token, raw = tokens.token_create(
                tenant=request.tenant, name=form.cleaned_data["name"], created_by=request.user
            )
            created = {"token": token, "raw": raw}
            form = TokenCreateForm()
    else:
        form = TokenCreateForm()
    return render(
        request,
        "api/api_tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": ApiToken.objects.filter(tenant=request.tenant).select_related("created_by"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@admin_required
def token_revoke(request, pk: int):
    token = get_for_tenant(request, ApiToken, pk)
    tokens.token_revoke(token)
    messages.success(request, f"Token {token.name} revoked: it no longer opens the API.")
    return redirect("api_tokens")
