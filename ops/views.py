from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import OK, health

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and beat are fine; 503 naming what is not."""
    result = health()
    failing = {key: value for key, value in result.items() if value != OK}
    response = JsonResponse(result, status=503 if failing else 200)
    if failing:
        # One warning naming what is not ready, instead of Django's ERROR line: a probe
        # during start-up or a broker restart is not an error of the app.
        logger.warning("Health check: not ready", extra=failing)
        response._has_been_logged = True  # Django's own marker: django.request skips it
    return response
