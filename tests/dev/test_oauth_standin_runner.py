"""`OAUTH_STANDIN=1 make run`: the development stand-in's settings, and the relay that
hands what a connected mailbox sent on to the mail catcher."""

from __future__ import annotations

import base64
import threading

import httpx2
from aiosmtpd.controller import Controller

from dev.oauth_standin import relay, settings_for
from tests.oauth_standin import StandIn
from tests.smtp_servers import free_port


def test_the_printed_settings_point_the_app_at_the_stand_in_and_back():
    settings = settings_for(1090)
    assert settings["MICROSOFT_GRAPH_URL"] == "http://127.0.0.1:1090/ms-graph"
    assert settings["GOOGLE_TOKEN_URL"] == "http://127.0.0.1:1090/google-oauth2/token"
    assert settings["MICROSOFT_CLIENT_ID"] and settings["GOOGLE_CLIENT_ID"]
    assert settings["OAUTH_REDIRECT_BASE"] == "http://127.0.0.1:8000"


class _Catcher:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


def test_what_a_connected_mailbox_sends_reaches_the_mail_catcher_once():
    catcher = _Catcher()
    port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    try:
        with StandIn() as standin:
            standin.add_google_user("ar@demo-mail.example")
            threading.Thread(target=relay, args=(standin, port, stop), daemon=True).start()
            url = standin.settings()["GOOGLE_AUTH_URL"]
            query = {
                "client_id": standin.settings()["GOOGLE_CLIENT_ID"],
                "response_type": "code",
                "redirect_uri": "http://127.0.0.1:8000/cb",
                "state": "s",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "access_type": "offline",
                "scope": "https://www.googleapis.com/auth/gmail.send openid email",
            }
            callback = standin.approve(str(httpx2.URL(url, params=query)))
            code = httpx2.URL(callback).params["code"]
            token = httpx2.post(
                standin.settings()["GOOGLE_TOKEN_URL"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": "http://127.0.0.1:8000/cb",
                    "client_id": standin.settings()["GOOGLE_CLIENT_ID"],
                    "client_secret": standin.settings()["GOOGLE_CLIENT_SECRET"],
                    "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                },
            ).json()
            raw = (
                b"From: ar@demo-mail.example\r\nTo: customer@client.example\r\n"
                b"Subject: Reminder\r\nMessage-ID: <r1@demo>\r\n\r\nPlease pay.\r\n"
            )
            response = httpx2.post(
                standin.settings()["GOOGLE_API_URL"] + "/gmail/v1/users/me/messages/send",
                headers={"Authorization": f"Bearer {token['access_token']}"},
                json={"raw": base64.urlsafe_b64encode(raw).decode()},
            )
            assert response.status_code == 200
            for _ in range(50):
                if catcher.received:
                    break
                threading.Event().wait(0.1)
            threading.Event().wait(0.6)  # one more relay pass: nothing handed on twice
    finally:
        stop.set()
        controller.stop()
    assert len(catcher.received) == 1
    mail_from, rcpts, content = catcher.received[0]
    assert (mail_from, rcpts) == ("ar@demo-mail.example", ["customer@client.example"])
    assert b"Message-ID: <r1@demo>" in content
