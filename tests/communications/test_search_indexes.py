"""The lists and the q= search are served by indexes: on PostgreSQL, EXPLAIN of each
list's page query names its index and never scans the outbox table (the plans seen are
in docs/performance.md). On any database, what q matches: three characters or more, a part
of the subject or of any To/Cc address; fewer, the start of the subject or of an address."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import OutboundEmail, Status
from outbox.selectors import emails_for_customer, emails_for_tenant
from tests.page_data import make_customer, make_email

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN plans and the pg_trgm index exist on PostgreSQL only "
    "(run with DATABASE_URL=postgres://...)",
)

ROWS = 5000
TABLE = OutboundEmail._meta.db_table


# --- what q matches (both databases) --------------------------------------------------------


@pytest.fixture
def mails(tenant_a):
    return {
        "zed": make_email(tenant_a, subject="Invoice 7 overdue", to=("zed@hooli.example",), cc=()),
        "cc": make_email(
            tenant_a,
            subject="Statement",
            to=("ap@initech.example",),
            cc=("abby@initech.example", "Ze@other.example"),
        ),
        "subject": make_email(tenant_a, subject="Zero balance", to=("x@y.example",)),
        "inside": make_email(tenant_a, subject="Amazed", to=("liza@ooze.example",)),
    }


def found(tenant, q) -> set[int]:
    return set(emails_for_tenant(tenant, q=q).values_list("pk", flat=True))


def test_a_short_search_matches_the_start_of_an_address_or_the_subject(tenant_a, mails):
    assert found(tenant_a, "ze") == {mails["zed"].pk, mails["cc"].pk, mails["subject"].pk}
    assert found(tenant_a, "Z") == {mails["zed"].pk, mails["cc"].pk, mails["subject"].pk}
    assert found(tenant_a, "ab") == {mails["cc"].pk}  # a Cc address, not the first one


def test_a_search_of_three_characters_or_more_matches_inside_too(tenant_a, mails):
    assert found(tenant_a, "aze") == {mails["inside"].pk}
    assert found(tenant_a, "OOZE.") == {mails["inside"].pk}
    assert found(tenant_a, "initech") == {mails["cc"].pk}


@pytest.mark.parametrize("q", ["%", "_", "\\", '"', "%a", "a_"])
def test_wildcards_and_quotes_in_a_short_search_are_literal(tenant_a, mails, q):
    assert found(tenant_a, q) == set()


def test_a_short_search_on_the_page(admin_client_a, tenant_a, mails):
    response = admin_client_a.get("/communications/", {"q": "ze"})
    assert response.status_code == 200
    assert {e.pk for e in response.context["page"].object_list} == found(tenant_a, "ze")


# --- EXPLAIN on PostgreSQL ----------------------------------------------------------------


def fill(tenant, customers, count):
    now = timezone.now()
    OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                tenant=tenant,
                customer=customers[number % len(customers)],
                to_addresses=[f"ap{number}@customer{number % 300}.example"],
                cc_addresses=[f"cfo{number % 50}@customer{number % 300}.example"],
                subject=f"Invoice {number} overdue",
                body_text="Dear customer,",
                message_id=f"<{uuid.uuid4().hex}@acme.example>",
                status=(Status.SENT, Status.SENT, Status.SENT, Status.ERROR)[number % 4],
                next_attempt_at=now,
            )
            for number in range(count)
        ],
        batch_size=1000,
    )
    # created_at is auto_now_add: spread it over a year, some rows tied.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET created_at = now() - (id %% 4000) * interval '2 hours' "
            "WHERE tenant_id = %s",
            [tenant.pk],
        )


@pytest.fixture
def big_outbox(tenant_a, tenant_b):
    customers = [make_customer(tenant_a, f"Customer {n}") for n in range(40)]
    fill(tenant_a, customers, ROWS)
    fill(tenant_b, [make_customer(tenant_b, "Other")], ROWS // 5)
    make_email(tenant_a, subject="Unique zebra notice", to=("zebra@hooli.example",))
    with connection.cursor() as cursor:
        # Rows inserted after CREATE INDEX wait in the GIN index's pending list, which the
        # planner prices as a scan of it all (autovacuum merges it in production).
        cursor.execute("SELECT gin_clean_pending_list('outbox_search_trgm')")
        cursor.execute(f"ANALYZE {TABLE}")
    return customers


def plan_nodes(queryset) -> list[dict]:
    """Every node of the plan of `queryset`'s first page (51 rows)."""
    plan = json.loads(queryset[:51].explain(format="json"))[0]["Plan"]
    nodes, stack = [], [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def assert_served_by(queryset, index: str) -> list[dict]:
    nodes = plan_nodes(queryset)
    used = [
        node
        for node in nodes
        if node["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
        and node.get("Index Name") == index
    ]
    assert used, f"{index} not used: {[(n['Node Type'], n.get('Index Name')) for n in nodes]}"
    seq = [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == TABLE]
    assert not seq, f"the outbox is scanned: {nodes}"
    return nodes


@postgresql_only
def test_each_list_is_served_by_its_index_and_never_scans_the_outbox(tenant_a, big_outbox):
    assert_served_by(emails_for_tenant(tenant_a), "outbox_tenant_created")
    assert_served_by(
        emails_for_tenant(tenant_a, status=Status.ERROR), "outbox_tenant_status_created"
    )
    customer = big_outbox[3]
    assert_served_by(emails_for_tenant(tenant_a, customer=customer), "outbox_customer_created")
    assert_served_by(emails_for_customer(customer), "outbox_customer_created")
    # A later page starts its scan at the cursor: created_at <= is an index condition.
    stamp = timezone.now() - datetime.timedelta(days=100)
    later = emails_for_tenant(tenant_a).filter(created_at__lte=stamp)
    nodes = assert_served_by(later, "outbox_tenant_created")
    (scan,) = [n for n in nodes if n.get("Index Name") == "outbox_tenant_created"]
    assert "created_at" in scan["Index Cond"]


@postgresql_only
@pytest.mark.parametrize("q", ["zebra", "ZEBRA@HOOLI", "Unique zebra", "ze"])
def test_the_search_is_served_by_the_trigram_index(tenant_a, big_outbox, q):
    emails = emails_for_tenant(tenant_a, q=q)
    assert_served_by(emails, "outbox_search_trgm")
    assert emails.exists()


@postgresql_only
def test_the_trigram_index_is_on_the_exact_expressions_the_search_compiles_to(tenant_a):
    sql = str(emails_for_tenant(tenant_a, q="zebra").query)
    assert 'UPPER("communications_outboundemail"."subject"::text) LIKE' in sql
    assert 'UPPER(("communications_outboundemail"."to_addresses")::text::text) LIKE' in sql
    assert 'UPPER(("communications_outboundemail"."cc_addresses")::text::text) LIKE' in sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_search_trgm'")
        (definition,) = cursor.fetchone()
    assert "upper((subject)::text) gin_trgm_ops" in definition
    assert "upper((to_addresses)::text) gin_trgm_ops" in definition
    assert "upper((cc_addresses)::text) gin_trgm_ops" in definition
