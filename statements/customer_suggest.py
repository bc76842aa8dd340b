"""GET /customers/suggest/?q=: the Communications customer filter's type-ahead.

At most SUGGESTIONS of the user's tenant's customers whose name or customer id (the
ERP's external_id) starts with q, ignoring case, by name. On PostgreSQL both tests are
UPPER(<column>::text) LIKE 'Q%', which the trigram index customer_search_trgm serves.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from yaypay_mail.models import Customer
from yaypay_mail.tenancy import role_required

SUGGESTIONS = 10
MAX_QUERY_LENGTH = 100


@require_GET
@role_required()
def suggest(request):
    q = request.GET.get("q", "").strip()
    if "\x00" in q or len(q) > MAX_QUERY_LENGTH:
        return JsonResponse(
            {"error": f"q must be at most {MAX_QUERY_LENGTH} characters, without NUL."},
            status=400,
        )
    customers = []
    if q:
        customers = (
            Customer.objects.filter(tenant=request.tenant)
            .filter(Q(name__istartswith=q) | Q(external_id__istartswith=q))
            .order_by("name", "id")
            .values("id", "name", "external_id")[:SUGGESTIONS]
        )
    response = JsonResponse(
        {
            "customers": [
                {"id": c["id"], "name": c["name"], "external_id": c["external_id"] or ""}
                for c in customers
            ]
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response
