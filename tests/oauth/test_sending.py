"""Sending through a connected mailbox: the test message and the outbox, through the
local stand-in of Microsoft Graph and the Gmail API, with every failure the providers
document, counted by Message-ID."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from outbox.delivery import deliver_due
from outbox.models import DeliveryAttempt, SendingLimits, Status
from outbox.services import RESEND_BLOCKED, outbox_resend
from routes import secrets
from routes.models import OAuthConnection, OutgoingEmailSettings
from routes.oauth_tokens import access_token
from tests.communications.outbox_helpers import queue, reload
from tests.oauth_fixtures import (
    GOOGLE_ACCOUNT,
    MS_ACCOUNT,
    MS_SHARED,
    MS_UNLICENSED,
    connect,
)
from tests.oauth_standin import gmail_error, graph_error

PAGE = "/settings/email/outgoing/"


def use_provider(client, standin, tenant, provider: str, account: str, *, from_email: str = ""):
    """Connect the mailbox through the real flow, then choose it, as Save would."""
    connect(client, standin, provider, account)
    assert OAuthConnection.objects.filter(tenant=tenant, provider=provider).exists()
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant,
        defaults={
            "use_server": provider,
            "from_email": from_email,
            "sender_name": "Acme AR",
            "last_result_ok": True,
            "last_result_code": "",
        },
    )


def save_and_test(client, provider: str, **fields):
    data = {
        "use_server": provider,
        "from_email": "",
        "sender_name": "Acme AR",
        "host": "",
        "port": "",
        "username": "",
        "password": "",
        "encryption": "tls",
        **fields,
    }
    response = client.post(PAGE, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(PAGE).content.decode()


def message_ids(standin) -> list[str]:
    return [sent.message_id for sent in standin.sent]


# --- the test message --------------------------------------------------------------


def test_save_and_test_sends_through_graph_as_the_connected_mailbox(
    admin_client_a, tenant_a, oauth_env
):
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    page = save_and_test(admin_client_a, "microsoft")
    assert "Test message sent to admin@acme.example. Your settings are saved." in page
    (sent,) = oauth_env.sent
    assert (sent.provider, sent.account, sent.from_addr) == ("microsoft", MS_ACCOUNT, MS_ACCOUNT)
    assert sent.path.endswith("/v1.0/me/sendMail")
    assert sent.to == ["admin@acme.example"]
    text = sent.message.get_body(("plain",)).get_content()
    assert "through Microsoft 365" in text
    assert f"Your customers' replies go to {MS_ACCOUNT}." in text
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert (config.use_server, config.last_result_ok) == ("microsoft", True)


def test_choosing_a_provider_before_connecting_it_is_refused(admin_client_a, tenant_a, oauth_env):
    response = admin_client_a.post(
        PAGE, {"use_server": "google", "from_email": "", "sender_name": "", "encryption": "tls"}
    )
    assert response.status_code == 200
    assert "Connect Google first" in response.content.decode()
    assert OutgoingEmailSettings.objects.get(tenant=tenant_a).use_server == "gateway"
    assert oauth_env.sent == []


def test_a_shared_mailbox_is_sent_as_through_its_own_sendmail(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    page = save_and_test(admin_client_a, "microsoft", from_email=MS_SHARED)
    assert "Test message sent to" in page
    (sent,) = oauth_env.sent
    assert sent.path.endswith(f"/v1.0/users/{MS_SHARED}/sendMail")
    assert sent.from_addr == MS_SHARED
    assert "Send As" in page  # the page explains what sending as another address needs


def test_send_as_denied_says_what_to_ask_it_for(admin_client_a, tenant_a, oauth_env):
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    page = save_and_test(admin_client_a, "microsoft", from_email="ceo@acme.example")
    assert "The test message was not sent. Your settings are saved." in page
    assert f"{MS_ACCOUNT} may not send as ceo@acme.example (ErrorSendAsDenied)" in page
    assert "Send As rights" in page and "403 ErrorSendAsDenied" in page
    assert oauth_env.sent == []
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert (config.last_result_ok, config.last_result_code) == (False, "send_as_denied")


def test_a_mailbox_without_a_licence_is_explained(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "microsoft", MS_UNLICENSED)
    page = save_and_test(admin_client_a, "microsoft")
    assert "Microsoft 365 will not send from this mailbox (MailboxNotEnabledForRESTAPI)" in page
    assert "Exchange Online licence" in page


def test_gmail_sends_the_test_message_and_names_the_alias_rule(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    page = save_and_test(admin_client_a, "google", from_email="someone-else@acme-mail.example")
    assert "Test message sent to" in page
    assert "Send mail as" in page
    (sent,) = oauth_env.sent
    assert sent.provider == "google" and sent.from_addr == GOOGLE_ACCOUNT  # Gmail rewrote it


# --- the outbox ------------------------------------------------------------------


def test_the_outbox_sends_through_gmail_and_keeps_gmails_id(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.rewrite_message_id = True
    emails = queue(tenant_a, 3, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 3
    assert len(oauth_env.sent) == 3
    by_id = {sent.provider_id: sent for sent in oauth_env.sent}
    for email in reload(emails):
        assert (email.status, email.route, email.tries) == (Status.SENT, "google", 1)
        assert email.provider_message_id in by_id  # found in Gmail despite the rewrite
        assert by_id[email.provider_message_id].message["Subject"] == email.subject


def test_the_outbox_sends_through_graph_with_our_message_ids(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT, from_email=MS_SHARED)
    emails = queue(tenant_a, 3, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 3
    assert sorted(message_ids(oauth_env)) == sorted(e.message_id for e in emails)
    assert {sent.from_addr for sent in oauth_env.sent} == {MS_SHARED}
    assert {e.route for e in reload(emails)} == {"microsoft"}


def test_an_expired_access_token_is_renewed_once_and_the_mail_goes(
    admin_client_a, tenant_a, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    oauth_env.expire_access_tokens(MS_ACCOUNT)  # the provider now answers 401
    emails = queue(tenant_a, 2, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 2
    assert oauth_env.refresh_count(MS_ACCOUNT) == 1
    assert {e.status for e in reload(emails)} == {Status.SENT}


def test_a_rotated_refresh_token_is_kept(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    oauth_env.invalidate_old_refresh_tokens = True
    for round_ in range(2):
        oauth_env.expire_access_tokens(MS_ACCOUNT)
        queue(tenant_a, 1, kick=False)
        assert deliver_due(tenant_id=tenant_a.pk) == 1, round_
    assert oauth_env.refresh_count(MS_ACCOUNT) == 2


def test_a_revoked_grant_ends_as_reconnect_and_nothing_retries_it(
    admin_client_a, tenant_a, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.revoke_grant(GOOGLE_ACCOUNT)
    first = queue(tenant_a, 2, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    for email in reload(first):
        assert email.status == Status.ERROR and email.error_code == "auth_failed"
        assert "Google no longer accepts YayPay's access to the mailbox (invalid_grant)" in (
            email.error_message
        )
        assert "Reconnect Google" in email.error_message
    refreshes = oauth_env.refresh_count(GOOGLE_ACCOUNT)
    assert refreshes == 1

    later = queue(tenant_a, 1, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    assert oauth_env.refresh_count(GOOGLE_ACCOUNT) == refreshes  # no retry loop
    assert reload(later)[0].status == Status.ERROR
    assert outbox_resend(email=reload(later)[0]).message == RESEND_BLOCKED

    page = admin_client_a.get(PAGE).content.decode()
    assert "Reconnect Google" in page
    dashboard = admin_client_a.get("/").content.decode()
    assert "Google no longer accepts YayPay" in dashboard
    assert 'href="/settings/email/oauth/google/connect/">Reconnect Google</a>' in dashboard


@pytest.mark.parametrize(
    ("provider", "account", "endpoint", "status", "body"),
    [
        ("microsoft", MS_ACCOUNT, "ms_send", 429, graph_error("TooManyRequests", "slow down")),
        ("microsoft", MS_ACCOUNT, "ms_send", 503, graph_error("ServiceUnavailable", "busy")),
        (
            "google",
            GOOGLE_ACCOUNT,
            "google_send",
            403,
            gmail_error(
                403, "userRateLimitExceeded", "User-rate limit exceeded", "PERMISSION_DENIED"
            ),
        ),
        (
            "google",
            GOOGLE_ACCOUNT,
            "google_send",
            403,
            gmail_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "PERMISSION_DENIED"),
        ),
        (
            "google",
            GOOGLE_ACCOUNT,
            "google_send",
            429,
            gmail_error(429, "rateLimitExceeded", "Too many requests", "RESOURCE_EXHAUSTED"),
        ),
    ],
)
def test_a_rate_limit_pauses_the_route_for_retry_after_without_using_tries(
    admin_client_a, tenant_a, oauth_env, provider, account, endpoint, status, body
):
    use_provider(admin_client_a, oauth_env, tenant_a, provider, account)
    oauth_env.fail_next(endpoint, status, body=body, headers={"Retry-After": "120"})
    emails = queue(tenant_a, 3, kick=False)
    before = timezone.now()
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    assert oauth_env.sent == []
    for email in reload(emails):
        assert (email.status, email.tries, email.error_code) == (Status.QUEUED, 0, "rate_limited")
        assert email.next_attempt_at >= before + timedelta(seconds=119)
    assert not DeliveryAttempt.objects.filter(tenant=tenant_a).exists()
    assert OutgoingEmailSettings.objects.get(tenant=tenant_a).last_result_ok is True


def test_a_gmail_403_that_is_not_a_rate_limit_is_permanent(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.fail_next(
        "google_send",
        403,
        body=gmail_error(
            403, "forbidden", "Delegation denied for ar@acme-mail.example", "PERMISSION_DENIED"
        ),
    )
    emails = queue(tenant_a, 2, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    for email in reload(emails):
        assert (email.status, email.error_code) == (Status.ERROR, "mailbox_unavailable")
        assert "Workspace admin" in email.error_message and "403" in email.error_message
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert (config.last_result_ok, config.last_result_code) == (False, "mailbox_unavailable")


def test_a_bad_recipient_fails_that_message_only(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    bad = queue(tenant_a, 1, to="nobody@bad.invalid", kick=False)
    good = queue(tenant_a, 1, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (bad,) = reload(bad)
    assert (bad.status, bad.error_code) == (Status.ERROR, "recipient_refused")
    assert "ErrorInvalidRecipients" in bad.error_message
    assert reload(good)[0].status == Status.SENT
    assert message_ids(oauth_env) == [good[0].message_id]


@pytest.mark.parametrize("fault", ["drop", "stall", 500, 502, 504])
def test_no_answer_after_the_request_went_out_is_delivery_interrupted(
    admin_client_a, tenant_a, oauth_env, settings, fault
):
    settings.OAUTH_HTTP_TIMEOUT = 1.0  # the route's per-request timeout
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    if fault == "stall":
        oauth_env.fail_next("google_send", "stall", seconds=3)
    elif fault == "drop":
        oauth_env.fail_next("google_send", "drop")
    else:
        oauth_env.fail_next("google_send", fault, body=gmail_error(fault, "backendError", "x", "x"))
    emails = queue(tenant_a, 3, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    first, *rest = reload(emails)
    assert (first.status, first.error_code) == (Status.ERROR, "interrupted")
    assert "Delivery interrupted" in first.error_message and "Sent folder" in first.error_message
    # The rest of the batch waits in the queue, untried, instead of meeting the same fault.
    for email in rest:
        assert (email.status, email.tries, email.error_code) == (
            Status.QUEUED,
            0,
            "server_stalled",
        )
    oauth_env.wait_idle()
    # Never sent twice: the stalled one may have gone, and nothing retried it.
    assert message_ids(oauth_env).count(first.message_id) <= 1
    assert not {e.message_id for e in rest} & set(message_ids(oauth_env))


def test_a_gmail_200_without_the_messages_id_is_not_called_sent(
    admin_client_a, tenant_a, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.fail_next("google_send", 200, body={"labelIds": ["SENT"]})
    emails = queue(tenant_a, 1, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    (email,) = reload(emails)
    assert (email.status, email.error_code) == (Status.ERROR, "interrupted")
    assert "without the message's id" in email.error_message


def test_a_provider_that_cannot_be_reached_is_retried(
    admin_client_a, tenant_a, oauth_env, settings
):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    from tests.smtp_servers import free_port

    settings.MICROSOFT_GRAPH_URL = f"http://127.0.0.1:{free_port()}/ms-graph"
    emails = queue(tenant_a, 1, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    (email,) = reload(emails)
    assert (email.status, email.tries, email.error_code) == (Status.QUEUED, 1, "connect_failed")
    assert email.next_attempt_at > timezone.now()


def test_a_tenant_without_a_connection_never_borrows_another(
    admin_client_a, tenant_a, tenant_b, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_b, defaults={"use_server": "microsoft", "last_result_ok": True}
    )
    emails = queue(tenant_b, 1, kick=False)
    deliver_due(tenant_id=tenant_b.pk)
    (email,) = reload(emails)
    assert email.status == Status.ERROR
    assert "No Microsoft 365 mailbox is connected" in email.error_message
    assert oauth_env.sent == []


def test_microsoft_365s_own_limit_caps_a_higher_tenant_limit(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    SendingLimits.objects.filter(tenant=tenant_a).update(per_minute_limit=500)
    queue(tenant_a, 35, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 30
    assert len(oauth_env.sent) == 30


# --- tokens ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_needing_a_refresh_at_once_refresh_once(tenant_a, admin_a, oauth_env):
    from django.test import Client

    client = Client()
    client.force_login(admin_a, backend="yaypay_mail.auth.EmailBackend")
    connect(client, oauth_env, "microsoft", MS_ACCOUNT)
    OAuthConnection.objects.filter(tenant=tenant_a).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )
    oauth_env.refresh_delay = 0.5
    logged_before = len(oauth_env.requests)
    tokens, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        from django.db import connection

        try:
            barrier.wait()
            tokens.append(access_token(tenant_a.pk, "microsoft").value)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    # What the two workers asked the token endpoint for while they raced.
    refreshes = [
        r
        for r in oauth_env.requests[logged_before:]
        if r.path.endswith("/oauth2/v2.0/token") and "refresh_token" in r.keys
    ]
    assert len(refreshes) == 1, refreshes
    assert len(tokens) == 2 and tokens[0] == tokens[1]


def test_rotate_secrets_re_encrypts_the_tokens(admin_client_a, tenant_a, oauth_env, settings):
    from cryptography.fernet import Fernet

    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    stored = OAuthConnection.objects.get(tenant=tenant_a)
    refresh_token = secrets.decrypt(stored.refresh_token_encrypted)
    new_key = Fernet.generate_key().decode()
    settings.FERNET_KEYS = [new_key, *settings.FERNET_KEYS]
    call_command("rotate_secrets")
    settings.FERNET_KEYS = [new_key]
    stored.refresh_from_db()
    assert secrets.decrypt(stored.refresh_token_encrypted) == refresh_token
    assert secrets.decrypt(stored.access_token_encrypted)


def test_a_token_endpoint_that_does_not_answer_pauses_without_a_try(
    admin_client_a, tenant_a, oauth_env, settings
):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    settings.OAUTH_HTTP_TIMEOUT = 1.0
    OAuthConnection.objects.filter(tenant=tenant_a).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )
    oauth_env.fail_next("ms_token", "stall", seconds=3)
    emails = queue(tenant_a, 1, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    (email,) = reload(emails)
    assert (email.status, email.tries, email.error_code) == (
        Status.QUEUED,
        0,
        "provider_unavailable",
    )
    assert oauth_env.sent == []


def test_tokens_never_reach_the_logs(admin_client_a, tenant_a, oauth_env, caplog):
    caplog.set_level("DEBUG")
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    oauth_env.expire_access_tokens(MS_ACCOUNT)
    queue(tenant_a, 1, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    stored = OAuthConnection.objects.get(tenant=tenant_a)
    for token in (
        secrets.decrypt(stored.refresh_token_encrypted),
        secrets.decrypt(stored.access_token_encrypted),
    ):
        assert token not in caplog.text


def test_the_email_page_shows_gmails_id_and_the_route(admin_client_a, tenant_a, oauth_env):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.rewrite_message_id = True
    (email,) = queue(tenant_a, 1, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    (email,) = reload([email])
    page = admin_client_a.get(f"/communications/{email.pk}/").content.decode()
    assert f"<code>{email.provider_message_id}</code>" in page and email.provider_message_id
    assert "Your Google mailbox" in page
    listing = admin_client_a.get("/communications/").content.decode()
    assert "Sent · accepted by Google" in listing


def test_a_401_even_after_renewing_the_token_is_a_refused_access(
    admin_client_a, tenant_a, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "microsoft", MS_ACCOUNT)
    unauthorized = graph_error("InvalidAuthenticationToken", "Access token validation failure.")
    oauth_env.fail_next("ms_send", 401, body=unauthorized, times=2)
    emails = queue(tenant_a, 2, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    assert oauth_env.refresh_count(MS_ACCOUNT) == 1  # renewed once, then believed
    for email in reload(emails):
        assert (email.status, email.error_code) == (Status.ERROR, "auth_failed")
        assert "InvalidAuthenticationToken" in email.error_message
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert config.last_result_code == "auth_failed"


def test_after_reconnecting_the_page_asks_for_the_test_not_another_reconnect(
    admin_client_a, tenant_a, oauth_env
):
    use_provider(admin_client_a, oauth_env, tenant_a, "google", GOOGLE_ACCOUNT)
    oauth_env.revoke_grant(GOOGLE_ACCOUNT)
    queue(tenant_a, 1, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    assert "Reconnect Google</a>" in admin_client_a.get(PAGE).content.decode()

    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    page = admin_client_a.get(PAGE).content.decode()
    assert "no longer accepts YayPay" not in page.split('id="oauth-google"')[1].split("</div>")[0]
    dashboard = admin_client_a.get("/").content.decode()
    assert "Reconnect Google</a>" not in dashboard
    page = save_and_test(admin_client_a, "google")
    assert "Test message sent to admin@acme.example" in page
    assert OutgoingEmailSettings.objects.get(tenant=tenant_a).last_result_ok is True
    later = queue(tenant_a, 1, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    assert reload(later)[0].status == Status.SENT
