"""The time zones a tenant may pick: real places by their current names (Europe/Paris,
America/New_York, Asia/Kolkata) and UTC, not aliases (Asia/Calcutta, Europe/Kiev) nor
the database's leftovers (Factory, localtime, Etc/GMT+5, EST5EDT, posix/...). Read from
the installed tzdata when asked, never frozen into a migration: Tenant.time_zone is a
plain string, checked by the form that sets it."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from pathlib import Path
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
    """UTC and the zones of tzdata's zone.tab (one line per place people live, by their
    current names: Asia/Kolkata, not its old alias Asia/Calcutta), as installed on this
    machine; where no zone.tab is found, every zone of a real area."""
    installed = available_timezones()
    listed = _zone_tab()
    if listed:
        zones = listed & installed
    else:
        zones = {name for name in installed if name.split("/", 1)[0] in AREAS}
    return ("UTC", *sorted(zones))


def _zone_tab() -> set[str]:
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            return {line.split("\t")[2] for line in lines if line and not line.startswith("#")}
    return set()


@lru_cache(maxsize=1)
def _by_lowercase() -> dict[str, str]:
    return {name.lower(): name for name in offered_time_zones()}


@lru_cache(maxsize=1)
def _by_city() -> dict[str, str]:
    """`berlin` -> Europe/Berlin, `new_york` -> America/New_York: the last part of each
    offered zone, where only one zone has it."""
    cities: dict[str, list[str]] = {}
    for name in offered_time_zones():
        cities.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return {city: names[0] for city, names in cities.items() if len(names) == 1}


def canonical_time_zone(value: str) -> str | None:
    """The offered zone the admin typed, whatever its case (`europe/paris`), or its city
    alone (`Berlin`, `new york`); None when it names none."""
    key = "_".join(value.split()).lower()
    return _by_lowercase().get(key) or _by_city().get(key)
