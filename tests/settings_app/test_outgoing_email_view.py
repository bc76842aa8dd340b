"""Settings | Email | Outgoing emails: save, then test, through real SMTP servers."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from routes import secrets
from routes.hostguard import FORBIDDEN_SENTENCE
from routes.models import OutgoingEmailSettings
from settings_app.models import SettingsAuditEntry
from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD
from tests.smtp_servers import make_test_ca

URL = "/settings/email/outgoing/"
SUCCESS = "Test message sent to admin@acme.example. Your settings are saved."


def form(server_port: int, **overrides) -> dict:
    data = {
        "use_server": "smtp",
        "from_email": "ar@acme.example",
        "sender_name": "Acme AR",
        "host": "localhost",
        "port": str(server_port),
        "username": MAILBOX_LOGIN,
        "password": MAILBOX_PASSWORD,
        "encryption": "tls",
    }
    data.update(overrides)
    return data


def page_after(client, data) -> str:
    response = client.post(URL, data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def stored(tenant) -> OutgoingEmailSettings:
    return OutgoingEmailSettings.objects.get(tenant=tenant)


# --- success -------------------------------------------------------------------


@pytest.mark.parametrize("mode,encryption", [("starttls", "tls"), ("implicit", "ssl")])
def test_a_valid_form_is_saved_and_the_test_message_reaches_the_admin(
    admin_client_a, tenant_a, smtp_server_factory, mode, encryption
):
    server = smtp_server_factory(mode=mode)
    page = page_after(admin_client_a, form(server.port, encryption=encryption))

    assert SUCCESS in page
    (received,) = server.wait_for(1)
    assert received.message["From"] == "Acme AR <ar@acme.example>"
    assert received.message["To"] == "admin@acme.example"
    assert received.message["Message-ID"].endswith("@acme.example>")
    assert received.message["Date"]
    assert received.rcpt_tos == ["admin@acme.example"]

    config = stored(tenant_a)
    assert (config.host, config.port, config.encryption) == ("localhost", server.port, encryption)
    assert config.last_result_ok is True
    assert config.last_tested_at is not None
    assert "Sent." in page  # the page shows the last test's result


def test_the_default_gateway_carries_the_test_message(
    admin_client_a, tenant_a, starttls_server, settings
):
    settings.DEFAULT_GATEWAY = {
        "HOST": "localhost",
        "PORT": starttls_server.port,
        "ENCRYPTION": "tls",
        "USERNAME": MAILBOX_LOGIN,
        "PASSWORD": MAILBOX_PASSWORD,
    }
    page = page_after(admin_client_a, {"use_server": "gateway", "from_email": "ar@acme.example"})

    assert SUCCESS in page
    (received,) = starttls_server.wait_for(1)
    assert received.message["From"] == "Acme Corp via YayPay <no-reply@yaypay.com>"
    assert received.message["Reply-To"] == "ar@acme.example"
    assert received.mail_from == "no-reply@yaypay.com"


def test_the_page_explains_the_gateway_and_shows_egress_addresses(admin_client_a, settings):
    settings.EGRESS_IPS = [("Production", "34.195.225.244"), ("Development", "34.228.204.221")]
    page = admin_client_a.get(URL).content.decode()
    assert "no-reply@yaypay.com" in page
    assert "Spam" in page
    assert "34.195.225.244" in page and "34.228.204.221" in page
    assert "Save and send test message" in page


# --- each error, provoked for real ---------------------------------------------


def test_a_wrong_password_says_to_check_the_credentials(admin_client_a, tenant_a, starttls_server):
    page = page_after(admin_client_a, form(starttls_server.port, password="wrong-password"))
    assert "Authentication failed." in page
    assert "Check the Username and Password." in page
    assert "535 5.7.8" in page
    assert SUCCESS not in page
    config = stored(tenant_a)
    assert config.last_result_ok is False and config.last_result_code == "auth_failed"


@pytest.mark.parametrize(
    "reply,advice",
    [
        ("534 5.7.9 Application-specific password required.", "Gmail needs an app password"),
        (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
            "Microsoft 365 has SMTP AUTH disabled",
        ),
        (
            "550 5.7.30 Basic authentication is not supported for Client Submission.",
            "Microsoft 365 has SMTP AUTH disabled",
        ),
    ],
)
def test_provider_specific_login_refusals_say_what_to_do(
    admin_client_a, smtp_server_factory, reply, advice
):
    server = smtp_server_factory(mode="starttls", auth_reply=reply)
    page = page_after(admin_client_a, form(server.port, password="not-the-app-password"))
    assert advice in page
    assert reply.split(" ", 1)[0] in page


def test_a_closed_port_says_the_connection_failed(admin_client_a, closed_port):
    page = page_after(admin_client_a, form(closed_port))
    assert "Mail server connection failed. Couldn&#x27;t connect to host." in page
    assert "Connection refused" in page


def test_a_listener_that_never_answers_times_out(admin_client_a, raw_server_factory, smtp_env):
    smtp_env.SMTP_TIMEOUT = 0.5
    server = raw_server_factory("never_greet")
    page = page_after(admin_client_a, form(server.port))
    assert (
        "Mail server connection failed. Couldn&#x27;t connect to host. Connect timed out." in page
    )


def test_a_listener_that_hangs_up_says_the_connection_dropped(admin_client_a, raw_server_factory):
    server = raw_server_factory("close_at_once")
    page = page_after(admin_client_a, form(server.port))
    assert "Connection dropped by server" in page
    # tls on a port that is neither 465 nor a plain-text one: the method is not the cause.
    assert "choose Encryption method" not in page


def test_a_listener_that_is_not_smtp_is_named_so_and_its_banner_is_not_echoed(
    admin_client_a, raw_server_factory
):
    server = raw_server_factory("not_smtp")
    page = page_after(admin_client_a, form(server.port))
    assert "is not an SMTP server" in page
    assert "secret-banner-xyz" not in page and "OpenSSH" not in page


def test_the_wrong_encryption_method_points_at_the_other_one(admin_client_a, starttls_server):
    page = page_after(admin_client_a, form(starttls_server.port, encryption="ssl"))
    assert "The server answered in plain text, not TLS: choose Encryption method tls" in page


def test_a_certificate_for_another_host_is_reported(
    admin_client_a, smtp_server_factory, tmp_path, smtp_env
):
    other = make_test_ca(tmp_path, server_names=("other.example",), server_ips=())
    smtp_env.SMTP_CA_FILE = str(other.ca_path)
    server = smtp_server_factory(ca=other, mode="starttls")
    page = page_after(admin_client_a, form(server.port))
    assert "The server&#x27;s certificate is not valid for localhost." in page
    assert server.auth_attempts == []


def test_a_server_without_starttls_is_refused_before_any_login(admin_client_a, smtp_server_factory):
    server = smtp_server_factory(mode="plain-no-starttls")
    page = page_after(admin_client_a, form(server.port))
    assert "does not offer STARTTLS" in page
    assert server.auth_attempts == []


def test_a_sender_refused_at_mail_says_the_mailbox_may_not_send_as_from(
    admin_client_a, smtp_server_factory
):
    server = smtp_server_factory(mode="starttls", refuse_mail_from={"ar@acme.example"})
    page = page_after(admin_client_a, form(server.port))
    assert "The server refused the sender ar@acme.example." in page
    assert "This mailbox may not send as the From address" in page
    assert "553 5.7.1" in page


def test_a_sender_refused_at_rcpt_is_still_a_sender_problem(admin_client_a, smtp_server_factory):
    server = smtp_server_factory(mode="starttls", refuse_sender_at_rcpt={"ar@acme.example"})
    page = page_after(admin_client_a, form(server.port))
    assert "The server refused the sender ar@acme.example." in page
    assert "Sender address rejected" in page


def test_a_refused_recipient_is_named(admin_client_a, smtp_server_factory):
    server = smtp_server_factory(mode="starttls", refuse_rcpt={"admin@acme.example"})
    page = page_after(admin_client_a, form(server.port))
    assert "The server refused the recipient admin@acme.example." in page
    assert "550 5.1.1" in page


# --- the host guard --------------------------------------------------------------


@pytest.mark.parametrize(
    "host,port",
    [
        ("localhost", 587),
        ("127.0.0.1", 25),
        ("10.0.0.7", 587),
        ("169.254.169.254", 25),
        ("smtp.gmail.com", 8080),
    ],
)
def test_a_refused_host_shows_the_guard_sentence_and_saves_nothing(
    admin_client_a, tenant_a, settings, host, port
):
    settings.SMTP_HOST_ALLOWLIST = []
    response = admin_client_a.post(URL, form(port, host=host))
    assert response.status_code == 200
    assert FORBIDDEN_SENTENCE in response.content.decode()
    assert not OutgoingEmailSettings.objects.filter(tenant=tenant_a, host=host).exists()
    assert not SettingsAuditEntry.objects.filter(tenant=tenant_a).exists()


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1"])
def test_a_non_canonical_ip_literal_is_a_field_error(admin_client_a, tenant_a, host):
    response = admin_client_a.post(URL, form(587, host=host))
    assert "four decimal numbers" in response.content.decode()
    assert not SettingsAuditEntry.objects.filter(tenant=tenant_a).exists()


# --- validation and header injection ---------------------------------------------

INJECTIONS = [
    "x\r\nBcc: victim@evil.example",
    "x\nBcc: victim@evil.example",
    "x\rX-Evil: 1",
    "x\x00y",
    "x\u2028y",
]


@pytest.mark.parametrize("field", ["from_email", "sender_name", "host", "username", "password"])
@pytest.mark.parametrize("payload", INJECTIONS, ids=["crlf", "lf", "cr", "nul", "line-separator"])
def test_line_breaks_and_control_characters_are_refused_in_every_text_field(
    admin_client_a, tenant_a, starttls_server, field, payload
):
    if field == "password" and payload == "x\u2028y":
        pytest.skip("a password may hold any printable character; it never goes into a header")
    value = {"from_email": f"ar@acme.example{payload}"}.get(field, payload)
    response = admin_client_a.post(URL, form(starttls_server.port, **{field: value}))
    assert response.status_code == 200
    assert "Nothing was saved." in response.content.decode()
    assert not SettingsAuditEntry.objects.filter(tenant=tenant_a).exists()
    assert starttls_server.received == []


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"from_email": "not-an-address"}, "Enter a valid email address."),
        ({"sender_name": "A" * 101}, "at most 100 characters"),
        ({"port": "five-eight-seven"}, "Enter a whole number."),
        ({"encryption": "none"}, "Select a valid choice."),
        ({"host": ""}, "Required when the server is SMTP."),
        ({"use_server": "carrier-pigeon"}, "Select a valid choice."),
    ],
)
def test_invalid_input_gets_a_field_error_and_is_not_saved(
    admin_client_a, tenant_a, starttls_server, overrides, message
):
    response = admin_client_a.post(URL, form(starttls_server.port, **overrides))
    assert message in response.content.decode()
    assert not SettingsAuditEntry.objects.filter(tenant=tenant_a).exists()


# --- the password ------------------------------------------------------------------


def test_the_password_is_stored_encrypted_and_never_shown(
    admin_client_a, tenant_a, starttls_server
):
    page_after(admin_client_a, form(starttls_server.port))
    token = stored(tenant_a).password_encrypted
    assert MAILBOX_PASSWORD not in token
    assert secrets.decrypt(token) == MAILBOX_PASSWORD
    page = admin_client_a.get(URL).content.decode()
    assert MAILBOX_PASSWORD not in page
    assert token not in page
    assert "A password is saved" in page


def test_a_blank_password_keeps_the_stored_one(admin_client_a, tenant_a, starttls_server):
    page_after(admin_client_a, form(starttls_server.port))
    token = stored(tenant_a).password_encrypted
    page = page_after(
        admin_client_a, form(starttls_server.port, password="", sender_name="Acme Receivables")
    )
    assert SUCCESS in page
    assert stored(tenant_a).password_encrypted == token
    assert starttls_server.wait_for(2)[1].message["From"] == "Acme Receivables <ar@acme.example>"


@pytest.mark.parametrize(
    "change", [{"host": "127.0.0.1"}, {"username": "someone@acme.example"}, {"port": "2525"}]
)
def test_changing_server_port_or_username_needs_the_password_again(
    admin_client_a, tenant_a, starttls_server, change
):
    page_after(admin_client_a, form(starttls_server.port))
    before = stored(tenant_a)
    response = admin_client_a.post(URL, form(starttls_server.port, password="", **change))
    assert "Type the password again" in response.content.decode()
    after = stored(tenant_a)
    assert (after.host, after.port, after.username) == (before.host, before.port, before.username)
    assert len(starttls_server.received) == 1


def test_switching_to_the_gateway_with_a_new_server_forgets_the_password(
    admin_client_a, tenant_a, starttls_server, settings
):
    settings.DEFAULT_GATEWAY = {
        **settings.DEFAULT_GATEWAY,
        "HOST": "127.0.0.1",
        "PORT": starttls_server.port,
        "ENCRYPTION": "tls",
        "USERNAME": MAILBOX_LOGIN,
        "PASSWORD": MAILBOX_PASSWORD,
    }
    page_after(admin_client_a, form(starttls_server.port))
    page_after(
        admin_client_a,
        form(starttls_server.port, use_server="gateway", host="127.0.0.1", password=""),
    )
    assert stored(tenant_a).password_encrypted == ""
    response = admin_client_a.post(URL, form(starttls_server.port, host="127.0.0.1", password=""))
    assert "Enter the password for this username." in response.content.decode()


def test_passwords_stay_out_of_logs_and_the_audit_trail(
    admin_client_a, tenant_a, starttls_server, caplog, settings
):
    caplog.set_level(logging.DEBUG)
    page_after(admin_client_a, form(starttls_server.port))
    page = page_after(
        admin_client_a, form(starttls_server.port, password="Wrong-" + MAILBOX_PASSWORD)
    )
    assert MAILBOX_PASSWORD not in caplog.text
    assert MAILBOX_PASSWORD not in page
    for entry in SettingsAuditEntry.objects.filter(tenant=tenant_a):
        assert MAILBOX_PASSWORD not in f"{entry.changed_fields} {entry.result}"


def test_the_debug_page_masks_the_smtp_and_gateway_passwords(
    admin_client_a, starttls_server, settings, monkeypatch
):
    settings.DEBUG = True
    # Assembled at run time: the debug page shows source lines near the failing frame.
    gateway_password = "-".join(["gateway", "Secret", "77"])
    settings.DEFAULT_GATEWAY = {**settings.DEFAULT_GATEWAY, "PASSWORD": gateway_password}

    def explode(self, message):
        raise RuntimeError("boom")

    # Fails deep inside the real save-and-test path, with the password in scope.
    monkeypatch.setattr("routes.smtp.SMTPConnection.send", explode)
    admin_client_a.raise_request_exception = False
    response = admin_client_a.post(URL, form(starttls_server.port), HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    body = response.content.decode()
    assert "RuntimeError" in body  # it is the technical page
    assert MAILBOX_PASSWORD not in body
    assert gateway_password not in body


# --- audit trail ----------------------------------------------------------------


def test_changes_and_tests_are_audited_with_who_what_and_result(
    admin_client_a, tenant_a, admin_a, starttls_server
):
    page_after(admin_client_a, form(starttls_server.port))
    page = page_after(
        admin_client_a, form(starttls_server.port, password="", sender_name="Acme Billing")
    )
    entries = list(SettingsAuditEntry.objects.filter(tenant=tenant_a).order_by("id"))
    assert [(e.action, e.result_ok) for e in entries] == [
        ("changed", None),
        ("tested", True),
        ("changed", None),
        ("tested", True),
    ]
    assert set(entries[0].changed_fields) >= {"host", "port", "username", "password", "from_email"}
    assert entries[2].changed_fields == ["sender_name"]
    assert all(e.actor == admin_a for e in entries)
    assert "sender_name" in page


# --- limits ------------------------------------------------------------------------


def test_test_messages_are_limited_per_tenant_and_nothing_is_saved_past_the_limit(
    admin_client_a, tenant_a, starttls_server, settings
):
    settings.SMTP_TEST_LIMIT = 2
    page_after(admin_client_a, form(starttls_server.port))
    page_after(admin_client_a, form(starttls_server.port, password=""))
    response = admin_client_a.post(
        URL, form(starttls_server.port, password="", sender_name="Third Try")
    )
    page = response.content.decode()
    assert "You have sent 2 test messages in the last hour. You can test again at" in page
    assert stored(tenant_a).sender_name == "Acme AR"
    assert len(starttls_server.received) == 2


# --- access ----------------------------------------------------------------------


def test_collectors_get_403(collector_client_a, starttls_server):
    assert collector_client_a.get(URL).status_code == 403
    assert collector_client_a.post(URL, form(starttls_server.port)).status_code == 403
    assert starttls_server.received == []


def test_each_tenant_sees_only_its_own_settings(
    admin_client_a, admin_client_b, tenant_b, starttls_server
):
    page_after(admin_client_a, form(starttls_server.port, sender_name="Acme Secret Sender"))
    page = admin_client_b.get(URL).content.decode()
    assert "Acme Secret Sender" not in page
    assert "ar@acme.example" not in page
    assert not OutgoingEmailSettings.objects.filter(tenant=tenant_b, host="localhost").exists()


def test_anonymous_users_are_sent_to_the_login(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_post_without_a_csrf_token_is_refused(admin_a, starttls_server):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a, backend="yaypay_mail.auth.EmailBackend")
    assert client.post(URL, form(starttls_server.port)).status_code == 403
    assert starttls_server.received == []


def test_the_url_name_resolves():
    assert reverse("outgoing_email") == URL


@pytest.mark.parametrize(
    ("port", "encryption", "plain_text_answer", "suggestion"),
    [
        (587, "tls", False, ""),
        (465, "ssl", False, ""),
        (2525, "tls", False, ""),
        (465, "tls", False, "choose Encryption method ssl"),
        (587, "ssl", False, "choose Encryption method tls"),
        (25, "ssl", False, "choose Encryption method tls"),
        (465, "ssl", True, "answered in plain text"),
        (8025, "ssl", True, "answered in plain text"),
    ],
)
def test_the_other_encryption_method_is_suggested_only_when_it_is_the_likely_cause(
    port, encryption, plain_text_answer, suggestion
):
    from routes.failures import encryption_hint

    hint = encryption_hint(port=port, encryption=encryption, plain_text_answer=plain_text_answer)
    if suggestion:
        assert suggestion in hint
    else:
        assert hint == ""


# --- what a refusal says ---------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "field_id", "guidance"),
    [
        (
            "smtp.gmail.com",
            8080,
            "id_port",
            "Port 8080 is not one YayPay may use. Choose one of: 25, 465, 587, 2525.",
        ),
        ("10.0.0.7", 587, "id_host", "leads to a private or local network address"),
        ("localhost", 587, "id_host", "leads to a private or local network address"),
        ("no-such-name.invalid", 587, "id_host", "does not resolve: check its spelling"),
    ],
)
def test_a_refusal_says_which_field_failed_and_that_nothing_was_saved(
    admin_client_a, tenant_a, settings, host, port, field_id, guidance
):
    settings.SMTP_ALLOWED_PORTS = [25, 465, 587, 2525]
    settings.SMTP_HOST_ALLOWLIST = []
    page = admin_client_a.post(URL, form(port, host=host)).content.decode()
    assert FORBIDDEN_SENTENCE in page
    assert "Nothing was saved: your saved settings are unchanged." in page
    assert guidance.replace("'", "&#x27;") in page
    # The guidance sits with the field it is about.
    field_at = page.index(f'id="{field_id}"')
    assert field_at < page.index(guidance.split(":")[0].replace("'", "&#x27;"), field_at)
    # Never an address that the name resolved to.
    assert "127.0.0.1" not in page.replace('value="127.0.0.1"', "")
    assert "Last test of your saved settings" in page
    assert not SettingsAuditEntry.objects.filter(tenant=tenant_a).exists()


def test_a_refusal_shows_none_of_the_saved_settings_in_the_form(
    admin_client_a, tenant_a, smtp_server_factory, settings
):
    server = smtp_server_factory(mode="starttls")
    page_after(admin_client_a, form(server.port, username="saved-user@acme.example"))
    settings.SMTP_HOST_ALLOWLIST = []
    page = admin_client_a.post(
        URL, form(587, host="10.0.0.7", username="typed-user@acme.example")
    ).content.decode()
    assert "typed-user@acme.example" in page
    assert "saved-user@acme.example" not in page.split('id="last-test"')[1].split("</form>")[0]
    assert MAILBOX_PASSWORD not in page


def test_the_history_names_fields_as_the_page_does(admin_client_a, smtp_server_factory):
    server = smtp_server_factory(mode="starttls")
    page_after(admin_client_a, form(server.port))
    history = admin_client_a.get(URL).content.decode().split('id="audit"')[1]
    assert "SMTP Server, Port" in history
    assert "host, port" not in history


def test_history_and_the_last_test_are_shown_in_the_tenants_time_zone(admin_client_a, tenant_a):
    import datetime

    tenant_a.time_zone = "Asia/Kolkata"
    tenant_a.save(update_fields=["time_zone"])
    at = datetime.datetime(2026, 11, 30, 22, 0, tzinfo=datetime.UTC)
    entry = SettingsAuditEntry.objects.create(tenant=tenant_a, action="tested", result_ok=True)
    SettingsAuditEntry.objects.filter(pk=entry.pk).update(at=at)
    from routes.config import settings_for

    OutgoingEmailSettings.objects.filter(pk=settings_for(tenant_a).pk).update(
        last_tested_at=at, last_result_ok=True
    )
    page = admin_client_a.get(URL).content.decode()
    history = page.split('id="audit"')[1]
    assert "When (Asia/Kolkata)" in history
    # 22:00 UTC is 03:30 the next day in India, written the tenant's (en_US) way.
    assert "Dec 1, 2026, 3:30\u202fAM" in history
    last_test = page.split('id="last-test"')[1].split("</section>")[0]
    assert "Dec 1, 2026, 3:30\u202fAM (Asia/Kolkata)" in last_test


def test_history_and_the_last_test_follow_the_tenants_locale(admin_client_a, tenant_a):
    import datetime

    from dunning.models import ReminderSettings

    tenant_a.time_zone = "Europe/Berlin"
    tenant_a.save(update_fields=["time_zone"])
    ReminderSettings.objects.update_or_create(tenant=tenant_a, defaults={"locale": "de_DE"})
    at = datetime.datetime(2026, 11, 30, 13, 5, tzinfo=datetime.UTC)
    entry = SettingsAuditEntry.objects.create(tenant=tenant_a, action="tested", result_ok=True)
    SettingsAuditEntry.objects.filter(pk=entry.pk).update(at=at)
    from routes.config import settings_for

    OutgoingEmailSettings.objects.filter(pk=settings_for(tenant_a).pk).update(
        last_tested_at=at, last_result_ok=True
    )
    page = admin_client_a.get(URL).content.decode()
    assert "30.11.2026, 14:05" in page.split('id="audit"')[1]
    assert "30.11.2026, 14:05 (Europe/Berlin)" in page.split('id="last-test"')[1]
    assert "2026-11-30" not in page


LONG_REASON = (
    "The mail server closed the connection before the message was sent. It may be "
    "overloaded, or it may refuse connections from YayPay's addresses: ask your IT to "
    "allow them. Server said: 421 4.7.0 Try again later"
)


def test_a_failed_test_shows_a_short_reason_with_the_full_text_one_click_away(
    admin_client_a, tenant_a
):
    SettingsAuditEntry.objects.create(
        tenant=tenant_a, action="tested", result_ok=False, result=LONG_REASON
    )
    history = admin_client_a.get(URL).content.decode().split('id="audit"')[1]
    summary = history.split("<summary>")[1].split("</summary>")[0]
    assert "Failed" in summary
    assert "The mail server closed the connection before the message…" in summary
    assert "421" not in summary
    # The whole reason is behind the badge (in the <details>), not in the row's line.
    details = history.split("</summary>")[1].split("</details>")[0]
    assert "Server said: 421 4.7.0 Try again later" in details


def test_the_history_is_paged_by_id_with_an_older_link(admin_client_a, tenant_a):
    entries = [
        SettingsAuditEntry.objects.create(
            tenant=tenant_a, action="changed", changed_fields=["sender_name"]
        )
        for _ in range(23)
    ]
    page = admin_client_a.get(URL).content.decode()
    history = page.split('id="audit"')[1]
    shown = [entry.pk for entry in entries if f'id="audit-{entry.pk}"' in history]
    assert shown == [entry.pk for entry in entries[-10:]]
    assert "Newest</a>" not in history
    older = f"?history_before={entries[-10].pk}#audit"
    assert older in history

    second = admin_client_a.get(URL + older.split("#")[0]).content.decode().split('id="audit"')[1]
    shown = [entry.pk for entry in entries if f'id="audit-{entry.pk}"' in second]
    assert shown == [entry.pk for entry in entries[3:13]]
    assert "Newest</a>" in second

    last = admin_client_a.get(f"{URL}?history_before={entries[3].pk}").content.decode()
    last = last.split('id="audit"')[1]
    assert [e.pk for e in entries if f'id="audit-{e.pk}"' in last] == [e.pk for e in entries[:3]]
    assert "history_before=" not in last
    # Nonsense is the first page, not an error.
    assert admin_client_a.get(URL + "?history_before=abc").status_code == 200


def test_the_history_shows_only_the_tenants_own_entries(admin_client_a, tenant_b):
    other = SettingsAuditEntry.objects.create(tenant=tenant_b, action="tested", result_ok=True)
    page = admin_client_a.get(f"{URL}?history_before={other.pk + 1}").content.decode()
    assert f'id="audit-{other.pk}"' not in page


@pytest.mark.parametrize(
    "reply,advice",
    [
        (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
            "Choose Microsoft 365 in Use server for emails and connect the mailbox",
        ),
        (
            "534 5.7.9 Application-specific password required.",
            "Or choose Google in Use server for emails and connect the mailbox",
        ),
    ],
)
def test_a_refused_password_login_points_to_connecting_the_mailbox_when_offered(
    admin_client_a, smtp_server_factory, settings, reply, advice
):
    settings.MICROSOFT_CLIENT_ID = "yaypay-app"
    settings.GOOGLE_CLIENT_ID = "yaypay-app"
    server = smtp_server_factory(mode="starttls", auth_reply=reply)
    page = page_after(admin_client_a, form(server.port, password="not-the-app-password"))
    assert advice in page
