"""Settings | Email with a connected Google mailbox and a From other than its account:
Gmail sends from the account unless the From is a verified "Send mail as" alias, so the
page and the test message say so, promise no From, and Reply-To carries the saved From.
Through the local Gmail stand-in, which rewrites From as Gmail does."""

from __future__ import annotations

from tests.oauth.test_sending import save_and_test
from tests.oauth_fixtures import GOOGLE_ACCOUNT, GOOGLE_ALIAS, connect

ELSEWHERE = "billing@acme.example"  # not an alias of the Google account


def banner(page: str) -> str:
    """The test message's banner (the page may also say the mailbox was just connected)."""
    shown = [part.split("</div>")[0] for part in page.split('class="banner banner-success"')[1:]]
    (test_banner,) = [text for text in shown if "Test message sent" in text]
    return test_banner.split(">", 1)[1]


def test_a_from_gmail_will_rewrite_gets_reply_to_and_no_promise(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    page = save_and_test(admin_client_a, "google", from_email=ELSEWHERE)

    (sent,) = oauth_env.sent
    assert sent.from_addr == GOOGLE_ACCOUNT  # Gmail rewrote the From
    assert sent.message["Reply-To"] == ELSEWHERE  # replies still reach billing@
    body = sent.message.get_body(("plain",)).get_content()
    assert f"will be sent from {ELSEWHERE}" not in body  # no From that Gmail replaced
    assert f"otherwise Gmail rewrites the From to {GOOGLE_ACCOUNT}" in body

    shown = banner(page)
    assert shown.startswith("Test message sent to admin@acme.example. Your settings are saved.")
    assert (
        f"Gmail sends from {ELSEWHERE} only if it is a verified &quot;Send mail as&quot; "
        f"address of {GOOGLE_ACCOUNT}; otherwise Gmail rewrites the From to {GOOGLE_ACCOUNT}."
    ) in shown
    assert f"Replies go to {ELSEWHERE} either way" in shown
    # The settings page says the same beside the connected mailbox.
    note = page.split('id="oauth-from-note"')[1].split("</p>")[0]
    assert f"otherwise Gmail rewrites the From to {GOOGLE_ACCOUNT}" in note


def test_a_verified_alias_keeps_its_from(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    save_and_test(admin_client_a, "google", from_email=GOOGLE_ALIAS)
    (sent,) = oauth_env.sent
    assert sent.from_addr == GOOGLE_ALIAS
    assert sent.message["Reply-To"] == GOOGLE_ALIAS


def test_the_account_itself_needs_no_note_and_no_reply_to(admin_client_a, oauth_env):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    page = save_and_test(admin_client_a, "google", from_email=GOOGLE_ACCOUNT)
    (sent,) = oauth_env.sent
    assert sent.from_addr == GOOGLE_ACCOUNT
    assert sent.message["Reply-To"] is None
    assert banner(page).strip().endswith("Your settings are saved.")
    assert 'id="oauth-from-note"' not in page
    assert f"will be sent from {GOOGLE_ACCOUNT}" in (
        sent.message.get_body(("plain",)).get_content()
    )
