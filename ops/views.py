from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import OK, health


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and beat are fine; 503 naming what is not."""
    result = health()
    healthy = all(value == OK for value in result.values())
    return JsonResponse(result, status=200 if healthy else 503)
