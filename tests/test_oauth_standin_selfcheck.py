"""Self-check of tests/oauth_standin.py with httpx (and Authlib) as the client (no Django)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from tests.oauth_standin import (
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    MICROSOFT_CLIENT_ID,
    MICROSOFT_CLIENT_SECRET,
    MICROSOFT_TENANT_ID,
    AuthorizeError,
    StandIn,
    aad_error,
    gmail_error,
    graph_error,
)

REDIRECT = "http://testserver/settings/mailbox/oauth/callback/"
MS_SCOPE = (
    "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Send.Shared "
    "https://graph.microsoft.com/User.Read offline_access"
)
GOOGLE_SCOPE = "https://www.googleapis.com/auth/gmail.send openid email"

ALICE = "alice@acme.example"  # Microsoft, may send as billing@acme.example
CAROL = "carol@acme.onmicrosoft.com"  # Microsoft, mail differs from the UPN
BOB = "bob@acme.example"  # Microsoft, no Exchange licence
DANA = "dana@gmail.example"  # Google, alias billing@dana.example


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        server.add_microsoft_user(ALICE, send_as=("billing@acme.example",))
        server.add_microsoft_user(CAROL, mail="carol@acme.example")
        server.add_microsoft_user(BOB, mail=None, licensed=False)
        server.add_google_user(DANA, aliases=("billing@dana.example",))
        yield server


@pytest.fixture(autouse=True)
def fresh(standin: StandIn) -> Iterator[None]:
    standin.reset()
    yield
    assert standin.errors == []


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=5, follow_redirects=False) as http:
        yield http


# --------------------------------------------------------------------------- helpers


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _ms_authorize_url(standin: StandIn, challenge: str, **overrides: str) -> str:
    params = {
        "client_id": MICROSOFT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "response_mode": "query",
        "scope": MS_SCOPE,
        "state": "state-ms-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    return f"{standin.settings()['MICROSOFT_AUTHORITY_URL']}/organizations/oauth2/v2.0/authorize?{urlencode(params)}"


def _google_authorize_url(standin: StandIn, challenge: str, **overrides: str) -> str:
    params = {
        "client_id": GOOGLE_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": GOOGLE_SCOPE,
        "state": "state-g-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "access_type": "offline",
        "prompt": "consent",
        **overrides,
    }
    return f"{standin.settings()['GOOGLE_AUTH_URL']}?{urlencode(params)}"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _ms_token_url(standin: StandIn) -> str:
    return standin.settings()["MICROSOFT_AUTHORITY_URL"] + "/organizations/oauth2/v2.0/token"


def _graph(standin: StandIn, path: str) -> str:
    return standin.settings()["MICROSOFT_GRAPH_URL"] + "/v1.0" + path


def _gmail_send_url(standin: StandIn) -> str:
    return standin.settings()["GOOGLE_API_URL"] + "/gmail/v1/users/me/messages/send"


def _ms_code(standin: StandIn, account: str) -> tuple[str, str]:
    verifier, challenge = _pkce()
    callback = standin.approve(_ms_authorize_url(standin, challenge), account=account)
    return _query(callback)["code"], verifier


def _ms_redeem(
    client: httpx2.Client, standin: StandIn, code: str, verifier: str
) -> httpx2.Response:
    return client.post(
        _ms_token_url(standin),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "scope": MS_SCOPE,
        },
        auth=(MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET),  # client_secret_basic
    )


def _ms_tokens(client: httpx2.Client, standin: StandIn, account: str = ALICE) -> dict:
    code, verifier = _ms_code(standin, account)
    response = _ms_redeem(client, standin, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def _ms_refresh(client: httpx2.Client, standin: StandIn, refresh_token: str) -> httpx2.Response:
    return client.post(
        _ms_token_url(standin),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": MS_SCOPE},
        auth=(MICROSOFT_CLIENT_ID, MICROSOFT_CLIENT_SECRET),
    )


def _google_tokens(client: httpx2.Client, standin: StandIn, account: str = DANA) -> dict:
    verifier, challenge = _pkce()
    callback = standin.approve(_google_authorize_url(standin, challenge), account=account)
    response = client.post(
        standin.settings()["GOOGLE_TOKEN_URL"],
        data={
            "grant_type": "authorization_code",
            "code": _query(callback)["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": GOOGLE_CLIENT_ID,  # client_secret_post
            "client_secret": GOOGLE_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def _mime(
    sender: str, to: str = "ap@customer.example", message_id: str | None = "<m1@acme.example>"
) -> bytes:
    lines = [f"From: Acme Billing <{sender}>", f"To: {to}", "Subject: Invoice 42 reminder"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", "Hello,", ""]
    return "\r\n".join(lines).encode()


def _graph_send(
    client: httpx2.Client, standin: StandIn, token: str, raw: bytes, user: str | None = None
) -> httpx2.Response:
    path = "/me/sendMail" if user is None else f"/users/{user}/sendMail"
    return client.post(
        _graph(standin, path),
        content=base64.b64encode(raw),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )


def _gmail_send(
    client: httpx2.Client, standin: StandIn, token: str, raw: bytes, *, pad: bool = True
) -> httpx2.Response:
    encoded = base64.urlsafe_b64encode(raw).decode()
    return client.post(
        _gmail_send_url(standin),
        json={"raw": encoded if pad else encoded.rstrip("=")},
        headers={"Authorization": f"Bearer {token}"},
    )


def _claims(jwt: str) -> tuple[dict, dict]:
    header, payload, _signature = jwt.split(".")

    def decode(segment: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))

    return decode(header), decode(payload)


# --------------------------------------------------------------------------- module hygiene


def test_module_does_not_import_django() -> None:
    code = (
        "import sys, tests.oauth_standin; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


def test_settings_layout(standin: StandIn) -> None:
    settings = standin.settings()
    base = standin.base_url
    assert settings["MICROSOFT_AUTHORITY_URL"] == base + "/ms-login"
    assert settings["MICROSOFT_GRAPH_URL"] == base + "/ms-graph"
    assert settings["GOOGLE_AUTH_URL"] == base + "/google-accounts/o/oauth2/v2/auth"
    assert settings["GOOGLE_TOKEN_URL"] == base + "/google-oauth2/token"
    assert settings["GOOGLE_API_URL"] == base + "/google-gmail"
    assert settings["MICROSOFT_TENANT"] == "organizations"
    assert {"MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET", "GOOGLE_CLIENT_ID"} <= set(settings)


# --------------------------------------------------------------------------- Microsoft


def test_microsoft_code_flow_me_and_send(standin: StandIn, client: httpx2.Client) -> None:
    verifier, challenge = _pkce()
    callback = standin.approve(_ms_authorize_url(standin, challenge), account=ALICE)
    assert callback.startswith(REDIRECT + "?")
    params = _query(callback)
    assert params["state"] == "state-ms-1"

    response = _ms_redeem(client, standin, params["code"], verifier)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == tokens["ext_expires_in"] == 3599
    assert "https://graph.microsoft.com/Mail.Send" in tokens["scope"].split()
    assert tokens["access_token"] and tokens["refresh_token"]

    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = client.get(_graph(standin, "/me"), headers=bearer).json()
    assert me["userPrincipalName"] == ALICE
    assert me["mail"] == ALICE
    assert me["@odata.context"].endswith("#users/$entity")
    assert me["id"] and me["displayName"] == "Alice"

    sent = _graph_send(client, standin, tokens["access_token"], _mime(ALICE))
    assert sent.status_code == 202
    assert sent.content == b""
    (record,) = standin.sent
    assert record.provider == "microsoft"
    assert record.account == ALICE
    assert record.from_addr == ALICE
    assert record.to == ["ap@customer.example"]
    assert record.message_id == "<m1@acme.example>"
    assert record.provider_id is None
    assert record.message["Subject"] == "Invoice 42 reminder"

    token_request = next(r for r in standin.requests if r.path.endswith("/token"))
    assert "code_verifier" in token_request.keys
    assert token_request.headers["authorization"] == "Basic"
    send_request = standin.requests[-1]
    assert send_request.path == "/ms-graph/v1.0/me/sendMail"
    assert send_request.headers["authorization"] == "Bearer"


def test_microsoft_with_authlib(standin: StandIn) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

    settings = standin.settings()
    authority = f"{settings['MICROSOFT_AUTHORITY_URL']}/{settings['MICROSOFT_TENANT']}"
    verifier = generate_token(48)
    with OAuth2Client(
        settings["MICROSOFT_CLIENT_ID"],
        settings["MICROSOFT_CLIENT_SECRET"],
        scope=MS_SCOPE,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as oauth:
        url, state = oauth.create_authorization_url(
            authority + "/oauth2/v2.0/authorize", code_verifier=verifier
        )
        callback = standin.approve(url, account=CAROL)
        token = oauth.fetch_token(
            authority + "/oauth2/v2.0/token",
            authorization_response=callback,
            code_verifier=verifier,
        )
        assert token["refresh_token"]
        me = oauth.get(settings["MICROSOFT_GRAPH_URL"] + "/v1.0/me").json()
        assert (me["userPrincipalName"], me["mail"]) == (CAROL, "carol@acme.example")
        old_refresh = token["refresh_token"]
        refreshed = oauth.refresh_token(authority + "/oauth2/v2.0/token")
        assert refreshed["refresh_token"] != old_refresh
    assert standin.refresh_count(CAROL) == 1


def test_mail_differs_from_upn_sends_from_mail(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin, CAROL)["access_token"]
    denied = _graph_send(client, standin, token, _mime(CAROL))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ErrorSendAsDenied"
    assert _graph_send(client, standin, token, _mime("carol@acme.example")).status_code == 202


def test_replayed_code_is_invalid_grant(standin: StandIn, client: httpx2.Client) -> None:
    code, verifier = _ms_code(standin, ALICE)
    assert _ms_redeem(client, standin, code, verifier).status_code == 200
    again = _ms_redeem(client, standin, code, verifier)
    assert again.status_code == 400
    body = again.json()
    assert body["error"] == "invalid_grant"
    assert body["error_codes"] == [54005]
    assert body["error_description"].startswith("AADSTS54005: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_bad_code_verifier_is_invalid_grant(standin: StandIn, client: httpx2.Client) -> None:
    code, _verifier = _ms_code(standin, ALICE)
    other_verifier, _ = _pkce()
    response = _ms_redeem(client, standin, code, other_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(standin: StandIn, client: httpx2.Client) -> None:
    code, verifier = _ms_code(standin, ALICE)
    response = client.post(
        _ms_token_url(standin),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(MICROSOFT_CLIENT_ID, "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert _ms_redeem(client, standin, code, verifier).status_code == 200  # code not burnt


def test_refresh_rotates_and_old_token_still_works(standin: StandIn, client: httpx2.Client) -> None:
    tokens = _ms_tokens(client, standin)
    first = _ms_refresh(client, standin, tokens["refresh_token"])
    assert first.status_code == 200
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert first.json()["access_token"] != tokens["access_token"]
    assert _ms_refresh(client, standin, tokens["refresh_token"]).status_code == 200
    assert standin.refresh_count(ALICE) == 2
    assert standin.refresh_count(ALICE, provider="google") == 0


def test_invalidate_old_refresh_tokens(standin: StandIn, client: httpx2.Client) -> None:
    standin.invalidate_old_refresh_tokens = True
    tokens = _ms_tokens(client, standin)
    rotated = _ms_refresh(client, standin, tokens["refresh_token"]).json()["refresh_token"]
    stale = _ms_refresh(client, standin, tokens["refresh_token"])
    assert stale.status_code == 400
    assert stale.json()["error"] == "invalid_grant"
    assert stale.json()["error_codes"] == [700082]
    assert _ms_refresh(client, standin, rotated).status_code == 200


def test_concurrent_refresh_race(standin: StandIn, client: httpx2.Client) -> None:
    standin.invalidate_old_refresh_tokens = True
    standin.refresh_delay = 0.3
    refresh_token = _ms_tokens(client, standin)["refresh_token"]
    statuses: list[int] = []

    def worker() -> None:
        with httpx2.Client(timeout=5) as own:
            statuses.append(_ms_refresh(own, standin, refresh_token).status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400]
    assert standin.refresh_count(ALICE) == 2


def test_revoke_grant_and_expired_access_tokens(standin: StandIn, client: httpx2.Client) -> None:
    tokens = _ms_tokens(client, standin)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    standin.expire_access_tokens(ALICE)
    expired = client.get(_graph(standin, "/me"), headers=bearer)
    assert expired.status_code == 401
    error = expired.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token has expired or is not yet valid."
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])

    fresh_tokens = _ms_refresh(client, standin, tokens["refresh_token"]).json()
    fresh_bearer = {"Authorization": f"Bearer {fresh_tokens['access_token']}"}
    assert client.get(_graph(standin, "/me"), headers=fresh_bearer).status_code == 200

    standin.revoke_grant(ALICE)
    refused = _ms_refresh(client, standin, fresh_tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert client.get(_graph(standin, "/me"), headers=fresh_bearer).status_code == 401
    assert client.get(_graph(standin, "/me")).status_code == 401  # no token at all


def test_access_lifetime_knob(standin: StandIn, client: httpx2.Client) -> None:
    standin.access_lifetime = 0  # issued already expired
    tokens = _ms_tokens(client, standin)
    assert tokens["expires_in"] == 0
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get(_graph(standin, "/me"), headers=bearer).status_code == 401


def test_send_as_shared_mailbox(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin)["access_token"]
    shared = _graph_send(
        client, standin, token, _mime("billing@acme.example"), user="billing%40acme.example"
    )
    assert shared.status_code == 202
    assert standin.sent[0].path == "/ms-graph/v1.0/users/billing%40acme.example/sendMail"
    assert standin.sent[0].from_addr == "billing@acme.example"

    as_self = _graph_send(client, standin, token, _mime(ALICE), user=ALICE)
    assert as_self.status_code == 202

    for user, sender in [
        (None, "billing@acme.example"),  # /me with a From that is not the user's mailbox
        ("ceo@acme.example", "ceo@acme.example"),  # no send-as right
        ("billing@acme.example", ALICE),  # From differs from the mailbox in the URL
    ]:
        denied = _graph_send(client, standin, token, _mime(sender), user=user)
        assert denied.status_code == 403, (user, sender)
        assert denied.json()["error"]["code"] == "ErrorSendAsDenied"
        assert denied.json()["error"]["message"].startswith(
            "The user account which was used to submit this request does not have the right"
        )
    assert len(standin.sent) == 2


def test_unlicensed_mailbox(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin, BOB)["access_token"]
    me = client.get(_graph(standin, "/me"), headers={"Authorization": f"Bearer {token}"})
    assert me.json()["mail"] is None
    response = _graph_send(client, standin, token, _mime(BOB))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
    assert standin.sent == []


def test_invalid_recipient_and_mime_errors(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin)["access_token"]
    bad_rcpt = _graph_send(client, standin, token, _mime(ALICE, to="x@bad.invalid"))
    assert bad_rcpt.status_code == 400
    assert bad_rcpt.json()["error"]["code"] == "ErrorInvalidRecipients"
    assert "Recipient 'x@bad.invalid' is not resolved" in bad_rcpt.json()["error"]["message"]

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    not_b64 = client.post(_graph(standin, "/me/sendMail"), content=b"%%%", headers=headers)
    assert not_b64.status_code == 400
    assert not_b64.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"
    no_from = client.post(
        _graph(standin, "/me/sendMail"),
        content=base64.b64encode(b"To: a@customer.example\r\n\r\nhi\r\n"),
        headers=headers,
    )
    assert no_from.status_code == 400
    assert no_from.json()["error"]["code"] == "ErrorMimeContentInvalid"
    assert standin.sent == []


def test_missing_message_id_gets_one(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin)["access_token"]
    raw = _mime(ALICE, message_id=None)
    assert _graph_send(client, standin, token, raw).status_code == 202
    (record,) = standin.sent
    assert record.submitted == raw
    assert record.message_id and record.message_id.endswith("outlook.com>")
    head, body = record.raw.split(b"\r\n\r\n", 1)
    assert body == raw.split(b"\r\n\r\n", 1)[1]  # only the header block changed
    added, *rest = head.split(b"\r\n")
    assert added.startswith(b"Message-ID: <")
    assert rest == raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_admin_consent(standin: StandIn) -> None:
    url = (
        f"{standin.settings()['MICROSOFT_AUTHORITY_URL']}/organizations/v2.0/adminconsent?"
        + urlencode(
            {
                "client_id": MICROSOFT_CLIENT_ID,
                "redirect_uri": REDIRECT,
                "state": "admin-1",
                "scope": "https://graph.microsoft.com/.default",
            }
        )
    )
    params = _query(standin.approve_admin_consent(url))
    assert params == {
        "admin_consent": "True",
        "tenant": MICROSOFT_TENANT_ID,
        "state": "admin-1",
        "scope": "https://graph.microsoft.com/.default",
    }
    assert standin.admin_consents[0]["tenant"] == "organizations"
    assert _query(standin.deny(url))["error"] == "access_denied"


# --------------------------------------------------------------------------- consent pages


def test_consent_page_html(standin: StandIn, client: httpx2.Client) -> None:
    _verifier, challenge = _pkce()
    page = client.get(_ms_authorize_url(standin, challenge, login_hint=CAROL))
    assert page.status_code == 200
    assert "<title>Sign in – Microsoft (stand-in)</title>" in page.text
    assert '<label for="account">' in page.text
    assert '<select id="account" name="account">' in page.text
    assert f'<option value="{CAROL}" selected>' in page.text
    assert ">Accept</button>" in page.text and ">Cancel</button>" in page.text

    # Submitting the form as a browser would (hidden fields + chosen account + button).
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    submitted = client.post(
        standin.base_url + action, data={**fields, "account": CAROL, "action": "accept"}
    )
    assert submitted.status_code == 302
    assert _query(submitted.headers["location"])["state"] == "state-ms-1"

    google = client.get(_google_authorize_url(standin, challenge))
    assert "<title>Sign in – Google (stand-in)</title>" in google.text
    assert f'value="{DANA}"' in google.text and ALICE not in google.text


def test_deny_gives_access_denied(standin: StandIn) -> None:
    _verifier, challenge = _pkce()
    ms = _query(standin.deny(_ms_authorize_url(standin, challenge)))
    assert ms["error"] == "access_denied"
    assert ms["state"] == "state-ms-1"
    assert ms["error_description"].startswith("AADSTS65004")
    google = _query(standin.deny(_google_authorize_url(standin, challenge)))
    assert (google["error"], google["state"]) == ("access_denied", "state-g-1")
    assert "error_description" in google


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"client_id": "someone-else"}, "AADSTS700016"),
        ({"redirect_uri": "not-a-url"}, "AADSTS50011"),
        ({"response_type": "token"}, "response_type"),
        ({"state": None}, "state"),
        ({"code_challenge_method": "plain"}, "S256"),
        ({"code_challenge": None}, "code_challenge"),
        ({"scope": "https://graph.microsoft.com/Mail.Send User.Read offline_access"}, "Shared"),
    ],
)
def test_microsoft_authorize_validation(
    standin: StandIn, client: httpx2.Client, override: dict, reason: str
) -> None:
    _verifier, challenge = _pkce()
    url = _ms_authorize_url(standin, challenge, **override)
    page = client.get(url)
    assert page.status_code == 400
    assert "location" not in page.headers
    with pytest.raises(AuthorizeError, match=reason) as excinfo:
        standin.approve(url, account=ALICE)
    assert excinfo.value.status == 400


def test_bare_microsoft_scopes_are_accepted(standin: StandIn) -> None:
    _verifier, challenge = _pkce()
    url = _ms_authorize_url(
        standin, challenge, scope="Mail.Send Mail.Send.Shared User.Read offline_access"
    )
    assert "code" in _query(standin.approve(url, account=ALICE))


def test_google_authorize_validation(standin: StandIn) -> None:
    _verifier, challenge = _pkce()
    for override, reason in [
        ({"access_type": "online"}, "access_type=offline"),
        ({"scope": "openid email"}, "gmail.send"),
        ({"client_id": "x.apps.googleusercontent.com"}, "OAuth client was not found"),
    ]:
        with pytest.raises(AuthorizeError, match=reason):
            standin.approve(_google_authorize_url(standin, challenge, **override))
    standin.allowed_redirect_uris = {"https://app.example/callback"}
    with pytest.raises(AuthorizeError, match="does not match"):
        standin.approve(_google_authorize_url(standin, challenge))


# --------------------------------------------------------------------------- Google


def test_google_flow_id_token_refresh_and_revoke(standin: StandIn, client: httpx2.Client) -> None:
    verifier, challenge = _pkce()
    callback = standin.approve(_google_authorize_url(standin, challenge, nonce="n-1"))
    params = _query(callback)
    assert params["state"] == "state-g-1"
    assert "https://www.googleapis.com/auth/gmail.send" in params["scope"].split()
    assert params["code"].startswith("4/")
    token_url = standin.settings()["GOOGLE_TOKEN_URL"]
    response = client.post(
        token_url,
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3599
    assert tokens["refresh_token"] and tokens["access_token"].startswith("ya29.")
    header, claims = _claims(tokens["id_token"])
    assert header == {"alg": "RS256", "kid": "standin"}
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["aud"] == GOOGLE_CLIENT_ID
    assert (claims["email"], claims["email_verified"], claims["nonce"]) == (DANA, True, "n-1")
    assert claims["sub"] and claims["exp"] > claims["iat"]

    secret_post = {"client_id": GOOGLE_CLIENT_ID, "client_secret": GOOGLE_CLIENT_SECRET}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = client.post(token_url, data={**refresh, **secret_post})
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    assert standin.refresh_count(DANA) == 1

    revoke_url = token_url.rsplit("/", 1)[0] + "/revoke"
    assert client.post(revoke_url, data={"token": tokens["refresh_token"]}).status_code == 200
    assert standin.revoked == [tokens["refresh_token"]]
    again = client.post(revoke_url, data={"token": tokens["refresh_token"]})
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_token",
        "error_description": "Token expired or revoked",
    }
    dead = client.post(token_url, data={**refresh, **secret_post})
    assert dead.status_code == 400
    assert dead.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    sent = _gmail_send(client, standin, refreshed.json()["access_token"], _mime(DANA))
    assert sent.status_code == 401  # revoking the refresh token revoked the grant


def test_google_with_authlib_and_wrong_secret(standin: StandIn) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client

    settings = standin.settings()
    verifier = generate_token(48)
    with OAuth2Client(
        GOOGLE_CLIENT_ID,
        GOOGLE_CLIENT_SECRET,
        scope=GOOGLE_SCOPE,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as oauth:
        url, _state = oauth.create_authorization_url(
            settings["GOOGLE_AUTH_URL"], code_verifier=verifier, access_type="offline"
        )
        callback = standin.approve(url, account=DANA)
        token = oauth.fetch_token(
            settings["GOOGLE_TOKEN_URL"], authorization_response=callback, code_verifier=verifier
        )
        sent = oauth.post(
            settings["GOOGLE_API_URL"] + "/gmail/v1/users/me/messages/send",
            json={"raw": base64.urlsafe_b64encode(_mime(DANA)).decode()},
        )
        assert sent.status_code == 200
        revoke = oauth.revoke_token(
            settings["GOOGLE_TOKEN_URL"].rsplit("/", 1)[0] + "/revoke", token=token["access_token"]
        )
        assert revoke.status_code == 200
    with httpx2.Client() as http:
        wrong = http.post(
            settings["GOOGLE_TOKEN_URL"],
            data={"grant_type": "refresh_token", "refresh_token": "1//x"},
            auth=(GOOGLE_CLIENT_ID, "wrong"),
        )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


def test_gmail_send_and_alias_rewrite(standin: StandIn, client: httpx2.Client) -> None:
    token = _google_tokens(client, standin)["access_token"]
    response = _gmail_send(client, standin, token, _mime(DANA), pad=False)
    assert response.status_code == 200
    body = response.json()
    assert len(body["id"]) == 16 and int(body["id"], 16) >= 0
    assert body["threadId"] == body["id"]
    assert body["labelIds"] == ["SENT"]
    first = standin.sent[0]
    assert (first.provider, first.account, first.provider_id) == ("google", DANA, body["id"])
    assert first.from_addr == DANA and first.message_id == "<m1@acme.example>"

    alias = _gmail_send(client, standin, token, _mime("billing@dana.example", message_id="<m2@x>"))
    assert alias.status_code == 200
    assert standin.sent[1].from_addr == "billing@dana.example"

    foreign = _gmail_send(client, standin, token, _mime("ceo@acme.example", message_id="<m3@x>"))
    assert foreign.status_code == 200
    rewritten = standin.sent[2]
    assert rewritten.from_addr == DANA
    assert rewritten.message["From"].addresses[0].addr_spec == DANA
    assert rewritten.message["From"].addresses[0].display_name == "Acme Billing"
    assert b"ceo@acme.example" in rewritten.submitted
    assert rewritten.message.get_content().startswith("Hello,")


def test_gmail_rewrite_message_id_and_threading(standin: StandIn, client: httpx2.Client) -> None:
    token = _google_tokens(client, standin)["access_token"]
    standin.rewrite_message_id = True
    first = _gmail_send(client, standin, token, _mime(DANA)).json()
    record = standin.sent[0]
    assert record.message_id != "<m1@acme.example>"
    assert record.message_id and record.message_id.endswith("@mail.gmail.com>")
    reply = _mime(DANA, message_id="<m2@acme.example>").replace(
        b"MIME-Version", f"In-Reply-To: {record.message_id}\r\nMIME-Version".encode()
    )
    second = _gmail_send(client, standin, token, reply).json()
    assert second["threadId"] == first["threadId"] != second["id"]


def test_gmail_errors(standin: StandIn, client: httpx2.Client) -> None:
    token = _google_tokens(client, standin)["access_token"]
    bad = _gmail_send(client, standin, token, _mime(DANA, to="x@bad.invalid"))
    assert bad.status_code == 400
    assert bad.json() == gmail_error(
        400, "invalidArgument", "Invalid To header", "INVALID_ARGUMENT"
    )
    unauthenticated = _gmail_send(client, standin, "ya29.unknown", _mime(DANA))
    assert unauthenticated.status_code == 401
    error = unauthenticated.json()["error"]
    assert (error["status"], error["errors"][0]["reason"]) == ("UNAUTHENTICATED", "authError")
    assert error["message"].startswith("Request had invalid authentication credentials")
    ms_token = _ms_tokens(client, standin)["access_token"]
    assert _gmail_send(client, standin, ms_token, _mime(DANA)).status_code == 401
    assert standin.sent == []


# --------------------------------------------------------------------------- failure drills


def test_fail_next_429_with_retry_after(standin: StandIn, client: httpx2.Client) -> None:
    token = _google_tokens(client, standin)["access_token"]
    body = gmail_error(429, "rateLimitExceeded", "Too many requests", "RESOURCE_EXHAUSTED")
    standin.fail_next("google_send", 429, body, headers={"Retry-After": "7"}, times=2)
    for _ in range(2):
        response = _gmail_send(client, standin, token, _mime(DANA))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert standin.sent == []
    assert _gmail_send(client, standin, token, _mime(DANA)).status_code == 200
    assert len(standin.sent) == 1


def test_fail_next_token_and_graph_bodies(standin: StandIn, client: httpx2.Client) -> None:
    code, verifier = _ms_code(standin, ALICE)
    standin.fail_next("ms_token", 503, aad_error("temporarily_unavailable", 50196, "Busy."))
    busy = _ms_redeem(client, standin, code, verifier)
    assert busy.status_code == 503
    assert busy.json()["error_codes"] == [50196]
    tokens = _ms_redeem(client, standin, code, verifier).json()  # code was not consumed
    standin.fail_next("ms_send", 429, graph_error("ApplicationThrottled", "Slow down"))
    throttled = _graph_send(client, standin, tokens["access_token"], _mime(ALICE))
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert standin.sent == []
    with pytest.raises(ValueError):
        standin.fail_next("nope", 500)


def test_fail_next_drop(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin)["access_token"]
    standin.fail_next("ms_send", "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        _graph_send(client, standin, token, _mime(ALICE))
    assert standin.sent == []
    assert standin.requests[-1].path == "/ms-graph/v1.0/me/sendMail"  # it did arrive
    assert _graph_send(client, standin, token, _mime(ALICE)).status_code == 202


def test_fail_next_stall(standin: StandIn, client: httpx2.Client) -> None:
    token = _google_tokens(client, standin)["access_token"]
    standin.fail_next("google_send", "stall", seconds=0.6)
    with httpx2.Client(timeout=0.2) as impatient:
        with pytest.raises(httpx2.ReadTimeout):
            _gmail_send(impatient, standin, token, _mime(DANA))
    assert standin.sent == []
    (record,) = standin.wait_for_sent(1, timeout=3)  # answered late, message recorded
    assert record.from_addr == DANA

    ms_token = _ms_tokens(client, standin)["access_token"]
    standin.fail_next("ms_me", "stall", seconds=0.2)
    started = time.monotonic()
    me = client.get(_graph(standin, "/me"), headers={"Authorization": f"Bearer {ms_token}"})
    assert me.status_code == 200
    assert time.monotonic() - started >= 0.2


# --------------------------------------------------------------------------- lifecycle


def test_reset_keeps_accounts(standin: StandIn, client: httpx2.Client) -> None:
    token = _ms_tokens(client, standin)["access_token"]
    assert _graph_send(client, standin, token, _mime(ALICE)).status_code == 202
    standin.fail_next("ms_me", 500)
    standin.refresh_delay = 5
    standin.reset()
    assert standin.sent == [] and standin.requests == [] and standin.refresh_delay == 0
    me = client.get(_graph(standin, "/me"), headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200  # the scripted failure is gone, token and account stay
    assert "code" in _query(standin.approve(_ms_authorize_url(standin, _pkce()[1]), ALICE))


def test_stop_with_open_connections_is_quick() -> None:
    server = StandIn().start()
    server.add_microsoft_user(ALICE)
    server.fail_next("ms_me", "stall", seconds=30)
    http = httpx2.Client(timeout=10)
    errors: list[Exception] = []

    def stalled() -> None:
        try:
            http.get(_graph(server, "/me"))
        except httpx2.HTTPError as error:
            errors.append(error)

    thread = threading.Thread(target=stalled)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    server.stop()  # idempotent
    thread.join(5)
    http.close()
    assert time.monotonic() - started < 2
    assert not thread.is_alive()
