"""The zones a tenant may pick, and what an admin may type to pick one."""

from __future__ import annotations

import pytest

from yaypay_mail.time_zones import canonical_time_zone, offered_time_zones


@pytest.mark.parametrize(
    "typed,zone",
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/paris", "Europe/Paris"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("  New   York ", "America/New_York"),
        ("utc", "UTC"),
    ],
)
def test_a_zone_is_found_by_its_name_or_its_city(typed, zone):
    assert canonical_time_zone(typed) == zone


@pytest.mark.parametrize(
    "typed", ["Factory", "localtime", "Asia/Calcutta", "Europe/Kiev", "Mars", ""]
)
def test_aliases_and_leftovers_are_not_zones(typed):
    assert canonical_time_zone(typed) is None


def test_the_list_holds_real_places_only():
    zones = offered_time_zones()
    assert "Asia/Kolkata" in zones and "Europe/Kyiv" in zones
    assert not {"Asia/Calcutta", "Europe/Kiev", "US/Eastern", "Factory"} & set(zones)
