"""The time zones a tenant may pick: real places (Europe/Paris, America/New_York) and
UTC, not the database's leftovers (Factory, localtime, Etc/GMT+5, EST5EDT, posix/...).
A subset of the model's TIME_ZONE_CHOICES, so form and model agree without a migration."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

AREAS = {
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
}


@lru_cache(maxsize=1)
def offered_time_zones() -> tuple[str, ...]:
    zones = {name for name in available_timezones() if name.split("/", 1)[0] in AREAS}
    return ("UTC", *sorted(zones))


@lru_cache(maxsize=1)
def _by_lowercase() -> dict[str, str]:
    return {name.lower(): name for name in offered_time_zones()}


def canonical_time_zone(value: str) -> str | None:
    """The offered zone the admin typed, whatever its case (`europe/paris`), or None."""
    return _by_lowercase().get(value.strip().replace(" ", "_").lower())
