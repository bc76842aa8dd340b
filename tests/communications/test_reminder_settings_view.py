"""Settings | Reminders: admins set the outbox's rhythm and limits."""

from __future__ import annotations

import pytest
from django.test import Client

from dunning.models import ReminderSettings
from dunning.services import reminder_settings_for
from outbox.models import SendingLimits
from yaypay_mail.models import Tenant

URL = "/settings/reminders/"


def form(**overrides) -> dict:
    data = {
        "section": "settings",
        "enabled": "on",
        "interval_days": "14",
        "sending_hour": "8",
        "time_zone": "Europe/Paris",
        "locale": "en_US",
        "per_minute_limit": "20",
        "per_day_limit": "500",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def stored(tenant) -> tuple:
    """What is saved where it lives: the reminders' rhythm, the tenant's zone and the
    outbox's sending limits."""
    obj = reminder_settings_for(tenant)
    limits = SendingLimits.objects.get(tenant=tenant)
    return (
        obj.enabled,
        obj.interval_days,
        obj.sending_hour,
        Tenant.objects.get(pk=tenant.pk).time_zone,
        limits.per_minute_limit,
        limits.per_day_limit,
    )


DEFAULTS = (True, 7, 9, "UTC", 30, 2000)


def test_an_anonymous_visitor_is_sent_to_the_login(db):
    for response in (Client().get(URL), Client().post(URL, form())):
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    assert not ReminderSettings.objects.exists()


def test_a_collector_may_neither_read_nor_save_them(collector_client_a, tenant_a):
    assert collector_client_a.get(URL).status_code == 403
    assert collector_client_a.post(URL, form()).status_code == 403
    assert stored(tenant_a) == DEFAULTS


def test_an_admin_sees_the_defaults(admin_client_a):
    response = admin_client_a.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="interval_days" value="7"' in page
    assert 'name="sending_hour" value="9"' in page
    assert 'name="time_zone" value="UTC"' in page and 'list="time-zone-list"' in page
    assert '<datalist id="time-zone-list">' in page
    assert '<option value="Europe/Paris"></option>' in page
    assert '<option value="en_US" selected>' in page
    assert 'name="per_minute_limit" value="30"' in page
    assert 'name="per_day_limit" value="2000"' in page


def test_an_admin_saves_them_and_sees_a_success_banner(admin_client_a, tenant_a):
    response = admin_client_a.post(URL, form(), follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "Reminder settings saved." in response.content.decode()
    assert stored(tenant_a) == (True, 14, 8, "Europe/Paris", 20, 500)


def test_unchecking_the_box_turns_reminders_off(admin_client_a, tenant_a):
    admin_client_a.post(URL, form(enabled=None))
    assert stored(tenant_a)[0] is False


@pytest.mark.parametrize(
    "field,value",
    [
        ("sending_hour", "24"),
        ("sending_hour", "-1"),
        ("interval_days", "0"),
        ("time_zone", "Mars/Olympus_Mons"),
        ("time_zone", "Factory"),
        ("time_zone", "localtime"),
        ("time_zone", "Etc/GMT+5"),
        ("time_zone", ""),
        ("locale", "xx_YY"),
        ("per_minute_limit", "0"),
        ("per_day_limit", "lots"),
    ],
)
def test_invalid_input_shows_a_field_error_and_saves_nothing(
    admin_client_a, tenant_a, field, value
):
    response = admin_client_a.post(URL, form(**{field: value}))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert "Nothing was saved." in response.content.decode()
    assert stored(tenant_a) == DEFAULTS


def test_another_tenants_admin_changes_only_their_own_settings(admin_client_b, tenant_a, tenant_b):
    admin_client_b.post(URL, form())
    assert stored(tenant_b) == (True, 14, 8, "Europe/Paris", 20, 500)
    assert stored(tenant_a) == DEFAULTS


def test_saving_without_a_csrf_token_is_refused(admin_a, tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a, backend="yaypay_mail.auth.EmailBackend")
    assert client.post(URL, form()).status_code == 403
    assert stored(tenant_a) == DEFAULTS


def test_the_time_zone_list_holds_real_places_only(admin_client_a):
    page = admin_client_a.get(URL).content.decode()
    listed = page.split('<datalist id="time-zone-list">')[1].split("</datalist>")[0]
    assert '"America/New_York"' in listed and '"Asia/Tokyo"' in listed and '"UTC"' in listed
    for leftover in ("Factory", "localtime", "Etc/GMT+5", "EST5EDT", "posix/"):
        assert f'"{leftover}' not in listed


def test_a_time_zone_typed_in_another_case_is_saved_as_the_zone(admin_client_a, tenant_a):
    admin_client_a.post(URL, form(time_zone="europe/paris"))
    assert stored(tenant_a)[3] == "Europe/Paris"


def test_an_unknown_zone_says_what_to_type(admin_client_a, tenant_a):
    response = admin_client_a.post(URL, form(time_zone="Mars/Olympus_Mons"))
    assert "“Mars/Olympus_Mons” is not a time zone." in response.content.decode()
    assert stored(tenant_a) == DEFAULTS


def test_a_legacy_zone_already_saved_stays_valid(admin_client_a, tenant_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="US/Eastern")
    response = admin_client_a.post(URL, form(time_zone="US/Eastern"))
    assert response.status_code == 302
    assert stored(tenant_a)[3] == "US/Eastern"


def test_the_locale_is_saved_and_offered_with_an_example(admin_client_a, tenant_a):
    page = admin_client_a.get(URL).content.decode()
    assert "Deutsch" not in page  # labels are in English
    assert "German (Germany): 1.234,56\xa0€ · 12.345 · 30.11.2026" in page
    admin_client_a.post(URL, form(locale="de_DE"))
    assert reminder_settings_for(tenant_a).locale == "de_DE"
