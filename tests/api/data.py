"""Record bodies the API tests send."""

from __future__ import annotations

ACME = {
    "name": "Acme Industries",
    "billing_email": "ap@acme-industries.example",
    "cc_emails": ["cfo@acme-industries.example"],
    "reminders_paused": False,
}
INVOICE = {
    "customer_id": "C-1",
    "issue_date": "2026-10-01",
    "due_date": "2026-10-31",
    "amount": "1234.56",
    "open_balance": 1000.5,
    "currency": "USD",
}
