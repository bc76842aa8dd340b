"""The Dashboard's counts by status, kept in a rollup so that reading them never scans
the outbox's history.

StatusCount holds, per tenant, UTC hour of creation and status, how many emails are
counted in that status (`count`) and how many of them prune_outbox deleted (`pruned`).
Each email says which status the rollup counts it under (`counted_status`, "" before it
is counted). Whatever changes a status, the rollup catches up by `count_changes`: it
moves the rows whose counted_status differs from their status, and the matching deltas,
in one transaction, so a row is counted exactly once whichever process gets to it first.

- Enqueue counts its rows as Queued in its own INSERT, and a claim counts its batch as
  Sent in its own UPDATE (one upsert each), so a message sent normally is never written
  again for the rollup. A failure, Resend and the reaper call count_changes right away,
  once per batch or operation (never once per message). Rows still `sending` are left to
  their worker.
- Everything else that changes a status (admin actions, fail_due_mail_of_tenant, plain
  SQL, a worker killed between its outcomes and its flush) is caught by the sweep, which
  beat runs every 15 s over the partial index outbox_uncounted.
- Readers add the few rows not counted yet to the rollup in the same statement, so the
  Dashboard is exact at any moment, not only after the sweep.
- `rebuild_status_counts` recomputes a tenant's counts from its rows; safe at any time.

On PostgreSQL an advisory lock per tenant keeps a rebuild (exclusive) from interleaving
with count_changes and prune_outbox (shared). On SQLite every write transaction is
IMMEDIATE (yaypay_mail.settings), which serialises them all.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from django.db import DatabaseError, connection, transaction
from django.db.models import BigIntegerField, CharField, Count, F, Value
from django.db.models.functions import TruncHour
from django.utils import timezone

from outbox.models import UNCOUNTED, OutboundEmail, Status, StatusCount
from yaypay_mail.models import Tenant

logger = logging.getLogger(__name__)

UTC = datetime.UTC
# Rows per transaction when counting or sweeping.
CHUNK = 1000
# Tries of one chunk whose rows changed between the read and the guarded UPDATE.
GUARD_TRIES = 3
# pg_advisory_xact_lock(ROLLUP_LOCK, tenant_id): the first key names this rollup.
ROLLUP_LOCK = 0x5C0C

# (hour, status) -> (count delta, pruned delta)
Deltas = Mapping[tuple[datetime.datetime, str], tuple[int, int]]


class _Changed(Exception):
    """A row changed between our read and our guarded UPDATE: roll back and read again."""


def hour_of(moment: datetime.datetime) -> datetime.datetime:
    """The start of the UTC hour that `moment` falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def lock_tenant_counts(tenant_id: int, *, exclusive: bool = False) -> None:
    """Until the transaction ends: shared for incremental writers, exclusive for a
    rebuild. PostgreSQL only; SQLite's IMMEDIATE transactions already serialise them."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s::int)", [ROLLUP_LOCK, tenant_id])


def apply_deltas(*, tenant_id: int, deltas: Deltas) -> None:
    """Add `deltas` to the tenant's rollup rows, creating missing ones, in one statement.

    Rows are written in (hour, status) order: two transactions that touch the same rows
    take their locks in the same order and so cannot deadlock."""
    items = sorted((key, value) for key, value in deltas.items() if value[0] != 0 or value[1] != 0)
    if not items:
        return
    table = connection.ops.quote_name(StatusCount._meta.db_table)
    values, params = [], []
    for (hour, status), (count, pruned) in items:
        values.append("(%s, %s, %s, %s, %s)")
        params += [
            tenant_id,
            connection.ops.adapt_datetimefield_value(hour),
            status,
            count,
            pruned,
        ]
    # Portable: PostgreSQL, and SQLite since 3.24.
    sql = (
        f'INSERT INTO {table} (tenant_id, hour, status, "count", pruned) '
        f"VALUES {', '.join(values)} "
        "ON CONFLICT (tenant_id, hour, status) DO UPDATE SET "
        f'"count" = {table}."count" + excluded."count", '
        f"pruned = {table}.pruned + excluded.pruned"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def count_new(*, tenant_id: int, emails: Iterable[OutboundEmail]) -> None:
    """Count emails just inserted with counted_status = status (enqueue writes them so),
    in the caller's transaction: one upsert, and no second write of each row."""
    deltas: Counter[tuple[datetime.datetime, str]] = Counter(
        (hour_of(email.created_at), email.counted_status) for email in emails
    )
    if deltas:
        lock_tenant_counts(tenant_id)
        apply_deltas(tenant_id=tenant_id, deltas={key: (n, 0) for key, n in deltas.items()})


def count_claimed_as_sent(
    *, tenant_id: int, claimed: Iterable[tuple[int, datetime.datetime, str]]
) -> None:
    """The claim counts its rows as Sent ahead of the send, in the claim's transaction
    (after lock_tenant_counts): `claimed` holds (id, created_at, counted_status before)."""
    deltas: Counter[tuple[datetime.datetime, str]] = Counter()
    for _pk, created_at, counted_status in claimed:
        hour = hour_of(created_at)
        deltas[hour, Status.SENT] += 1
        if counted_status:
            deltas[hour, counted_status] -= 1
    apply_deltas(tenant_id=tenant_id, deltas={key: (n, 0) for key, n in deltas.items()})


def count_changes(*, tenant_id: int, ids: list[int] | None = None) -> int:
    """Bring the tenant's rollup up to date with its rows whose status changed since they
    were counted (only those among `ids`, when given). Returns how many rows it counted.

    Chunks of CHUNK rows, each one transaction. Given `ids` (the caller's own batch) it
    waits for rows another transaction holds; without (the sweep, the reaper) it skips
    them, on PostgreSQL, so that concurrent sweeps share the work instead of queueing."""
    counted = 0
    if ids is not None:
        unique = sorted(set(ids))
        for start in range(0, len(unique), CHUNK):
            counted += _count_chunk(tenant_id, unique[start : start + CHUNK])[1]
        return counted
    while True:
        seen, done = _count_chunk(tenant_id, None)
        counted += done
        if seen < CHUNK or not done:
            return counted


def _count_chunk(tenant_id: int, ids: list[int] | None) -> tuple[int, int]:
    for _ in range(GUARD_TRIES):
        try:
            with transaction.atomic():
                return _count_once(tenant_id, ids)
        except _Changed:
            continue
    logger.warning(
        "Status counts of tenant %s: rows kept changing while being counted; the sweep "
        "will count them",
        tenant_id,
    )
    return 0, 0


def _count_once(tenant_id: int, ids: list[int] | None) -> tuple[int, int]:
    lock_tenant_counts(tenant_id)
    # A row being sent is left to its worker, which counted it as Sent at the claim: its
    # outcome settles it. Readers show it as Sending meanwhile.
    rows = (
        OutboundEmail.objects.filter(tenant_id=tenant_id)
        .filter(UNCOUNTED)
        .exclude(status=Status.SENDING)
    )
    if ids is not None:
        rows = rows.filter(id__in=ids)
    if connection.features.has_select_for_update:
        # Locked in id order, as the reaper locks them: no deadlock between the two.
        skip = ids is None and connection.features.has_select_for_update_skip_locked
        rows = rows.select_for_update(skip_locked=skip)
    selected = list(
        rows.order_by("id").values_list("id", "created_at", "status", "counted_status")[:CHUNK]
    )
    if not selected:
        return 0, 0
    groups: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    deltas: Counter[tuple[datetime.datetime, str]] = Counter()
    for pk, created_at, status, counted_status in selected:
        hour = hour_of(created_at)
        groups[status, counted_status].append(pk)
        deltas[hour, status] += 1
        if counted_status:
            deltas[hour, counted_status] -= 1
    # Guarded by what we read: where the rows are not locked (SQLite outside IMMEDIATE
    # mode), a status that changed meanwhile must not be counted under the old one.
    for (status, counted_status), pks in groups.items():
        updated = OutboundEmail.objects.filter(
            id__in=pks, status=status, counted_status=counted_status
        ).update(counted_status=status)
        if updated != len(pks):
            raise _Changed
    apply_deltas(tenant_id=tenant_id, deltas={key: (n, 0) for key, n in deltas.items()})
    return len(selected), len(selected)


def sweep_uncounted() -> int:
    """Count every row whose status changed without a flush: beat runs this every 15 s.
    Returns how many rows it counted."""
    tenant_ids = list(
        OutboundEmail.objects.filter(UNCOUNTED)
        .exclude(status=Status.SENDING)
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    counted = 0
    for tenant_id in tenant_ids:
        try:
            counted += count_changes(tenant_id=tenant_id)
        except DatabaseError:
            # One tenant's trouble must not hold up the others' counts.
            logger.exception("Status counts of tenant %s: sweep failed", tenant_id)
    return counted


def rebuild_status_counts(tenant_id: int) -> None:
    """Recompute the tenant's `count`s from its rows; `pruned` stays as it is. Safe to run
    at any time: it holds the tenant's counts exclusively while it works, and groups by
    counted_status, which only the rollup's writers change, so a status that a worker
    changes meanwhile is simply left to the next count_changes."""
    with transaction.atomic():
        lock_tenant_counts(tenant_id, exclusive=True)
        emails = OutboundEmail.objects.filter(tenant_id=tenant_id)
        emails.filter(UNCOUNTED).update(counted_status=F("status"))
        per_hour = (
            emails.exclude(counted_status="")
            .order_by()
            .annotate(hour=TruncHour("created_at", tzinfo=UTC))
            .values_list("hour", "counted_status")
            .annotate(n=Count("id"))
        )
        fresh = {(hour_of(hour), status): n for hour, status, n in per_hour}
        StatusCount.objects.filter(tenant_id=tenant_id).exclude(count=0).update(count=0)
        # Every count is 0 now: adding the fresh numbers sets them.
        apply_deltas(tenant_id=tenant_id, deltas={key: (n, 0) for key, n in fresh.items()})


# --- reads ---------------------------------------------------------------------------


def _hourly(tenant_id: int, since: datetime.datetime) -> Iterable[tuple]:
    """(moment, status, n, old status) rows from `since` (an hour start) on: the rollup's
    (hour, status, count + pruned, "") and, for each row not counted yet, (created_at,
    status, 1, counted_status), which adds 1 to its status and takes 1 from the status it
    is still counted under. One statement, so one snapshot: a count_changes that commits
    meanwhile is seen entirely or not at all."""
    rollup = (
        StatusCount.objects.filter(tenant_id=tenant_id, hour__gte=since)
        .order_by()
        .annotate(n=F("count") + F("pruned"), old=Value("", output_field=CharField()))
        .values_list("hour", "status", "n", "old")
    )
    pending = (
        OutboundEmail.objects.filter(tenant_id=tenant_id, created_at__gte=since)
        .filter(UNCOUNTED)
        .order_by()
        .annotate(n=Value(1, output_field=BigIntegerField()), old=F("counted_status"))
        .values_list("created_at", "status", "n", "old")
    )
    return rollup.union(pending, all=True)


def _add(counts: dict[str, int], status: str, n: int, old: str) -> None:
    counts[status] = counts.get(status, 0) + n
    if old:
        counts[old] = counts.get(old, 0) - n


def dashboard_counts(tenant: Tenant, *, since: datetime.datetime) -> dict[str, int]:
    """The tenant's emails by status, created from the start of `since`'s UTC hour on,
    pruned ones included; every status is a key, zero included. Reads one rollup row per
    hour and status (plus the few rows not counted yet), whatever the history."""
    counts = dict.fromkeys(Status.values, 0)
    for _moment, status, n, old in _hourly(tenant.pk, hour_of(since)):
        _add(counts, status, n, old)
    return counts


def daily_counts(
    tenant: Tenant, *, days: int, time_zone: str
) -> list[tuple[datetime.date, dict[str, int]]]:
    """The tenant's emails by status for each of the last `days` local days (today
    included) in `time_zone`, oldest first; every status is a key of every day.

    The rollup keeps UTC hours, so a day is formed at read time from the UTC hours whose
    *start* falls on that local date. In zones whose offset is not a whole number of
    hours (Asia/Kolkata, UTC+05:30) a UTC hour straddles local midnight: the hour
    18:00-19:00 UTC is 23:30-00:30 local and counts entirely for the day on which it
    starts, so emails of the first half hour after local midnight show on the day before.
    """
    zone = ZoneInfo(time_zone)
    today = timezone.now().astimezone(zone).date()
    first = today - datetime.timedelta(days=days - 1)
    totals = {
        first + datetime.timedelta(days=n): dict.fromkeys(Status.values, 0) for n in range(days)
    }
    local_midnight = datetime.datetime.combine(first, datetime.time(0), tzinfo=zone)
    # The hour that holds local midnight; dropped below if it starts on the day before.
    since = hour_of(local_midnight)
    for moment, status, n, old in _hourly(tenant.pk, since):
        day = hour_of(moment).astimezone(zone).date()
        if day in totals:
            _add(totals[day], status, n, old)
    return list(totals.items())
