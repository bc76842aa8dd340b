"""Password reset by email: through the gateway, from a task, the same answer for any
address, limited per client address and per target address."""

from __future__ import annotations

import re

import pytest
from django.test import Client

REQUEST = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"
SITE_URL = "https://mail.yaypay.example"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


def ask(client: Client, email: str, address: str = "198.51.100.10"):
    return client.post(REQUEST, {"email": email}, REMOTE_ADDR=address)


def link_in(received) -> str:
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    (url,) = re.findall(r"https?://\S+/accounts/reset/\S+/", text)
    assert url.startswith(SITE_URL + "/")
    return url.removeprefix(SITE_URL)


def login(email: str, password: str):
    return Client().post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR="203.0.113.1"
    )


@pytest.fixture
def ask_and_run(django_capture_on_commit_callbacks):
    """Ask, then run what was enqueued on commit (tasks are eager in tests)."""

    def run(email: str, address: str = "198.51.100.10", client: Client | None = None):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = ask(client or Client(), email, address)
        return response, callbacks

    return run


def test_the_link_in_the_mail_sets_a_new_password(admin_a, gateway, ask_and_run):
    response, _ = ask_and_run("ADMIN@Acme.example")
    assert response.status_code == 302 and response.url == DONE

    (received,) = gateway.wait_for(1)
    assert received.rcpt_tos == ["admin@acme.example"]
    assert received.message["From"] == "YayPay <no-reply@yaypay.com>"
    assert received.message["To"] == "admin@acme.example"
    assert received.message["Subject"] == "Reset your YayPay password"
    html = received.message.get_body(preferencelist=("html",)).get_content()
    link = link_in(received)
    assert f'href="{SITE_URL}{link}"' in html

    client = Client()
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    set_password_url = form.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "fresh-acme-pw-2027", "new_password2": "fresh-acme-pw-2027"},
    )
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    assert "Your new password is set" in client.get(done.url).content.decode()

    assert login("admin@acme.example", "fresh-acme-pw-2027").status_code == 302
    assert login("admin@acme.example", "acme-admin-pw-2026").status_code == 200
    # The link worked once.
    again = Client().get(link, follow=True).content.decode()
    assert "This reset link is not valid any more" in again


def test_the_answer_is_the_same_for_an_unknown_address(admin_a, gateway, ask_and_run):
    known, known_tasks = ask_and_run("admin@acme.example", address="198.51.100.1")
    unknown, unknown_tasks = ask_and_run("nobody@acme.example", address="198.51.100.2")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url) == (302, DONE)
    # Both enqueue the same task: whether the address exists is decided in the worker.
    assert len(known_tasks) == len(unknown_tasks) == 1
    page = Client().get(DONE).content.decode()
    assert "If that address has an account, a link to reset its password is on its way" in page
    (received,) = gateway.wait_for(1)
    assert received.rcpt_tos == ["admin@acme.example"]


def test_a_lookalike_address_gets_no_mail(db, gateway, ask_and_run):
    from yaypay_mail.services import tenant_create

    tenant_create(name="Beta", admin_email="b-admin@beta.test", admin_password="beta-pw-2026")
    response, _ = ask_and_run("b-adm\u0131n@beta.test")
    assert response.status_code == 302 and response.url == DONE
    assert gateway.received == []


def test_the_mail_goes_to_the_stored_address_not_the_typed_one(admin_a, gateway, ask_and_run):
    ask_and_run("ＡＤＭＩＮ@acme.example")
    (received,) = gateway.wait_for(1)
    assert received.rcpt_tos == ["admin@acme.example"]


def test_a_hostile_host_header_never_reaches_the_mailed_link(
    admin_a, gateway, settings, ask_and_run
):
    # ALLOWED_HOSTS does not look at the port, so this Host passes Django's check.
    settings.ALLOWED_HOSTS = ["mail.yaypay.example"]
    for host in ("mail.yaypay.example:31337", "mail.yaypay.example"):
        client = Client(HTTP_HOST=host)
        response, _ = ask_and_run("admin@acme.example", client=client)
        assert response.status_code == 302
    mails = gateway.wait_for(2)
    for received in mails:
        for kind in ("plain", "html"):
            body = received.message.get_body(preferencelist=(kind,)).get_content()
            assert "31337" not in body
            assert f"{SITE_URL}/accounts/reset/" in body


def test_the_request_answers_normally_with_the_broker_down(
    transactional_db, admin_a, broker_down, caplog
):
    """The task is published after the commit; a broker that is down is logged, and the
    page answers as it does for any address (it tells nothing either way)."""
    client = Client(raise_request_exception=False)
    response = ask(client, "admin@acme.example")
    assert response.status_code == 302 and response.url == DONE
    assert any(
        "Broker unreachable" in record.getMessage() and record.levelname == "ERROR"
        for record in caplog.records
    )


def test_a_gateway_failure_still_gives_the_same_answer(admin_a, settings, closed_port, ask_and_run):
    settings.DEFAULT_GATEWAY = {
        "HOST": "127.0.0.1",
        "PORT": closed_port,
        "ENCRYPTION": "none",
        "USERNAME": "",
        "PASSWORD": "",
    }
    response, _ = ask_and_run("admin@acme.example")
    assert response.status_code == 302 and response.url == DONE


def test_mails_to_one_address_are_limited_without_locking_its_owner_out(
    admin_a, gateway, settings, ask_and_run
):
    settings.PASSWORD_RESET_EMAIL_LIMIT = 2
    for number in range(3):  # a stranger, from three addresses
        response, tasks = ask_and_run("admin@acme.example", address=f"198.51.100.{number + 1}")
        assert response.status_code == 302 and len(tasks) == 1  # the same answer every time
    assert len(gateway.wait_for(2)) == 2
    with pytest.raises(TimeoutError):
        gateway.wait_for(3, timeout=1)  # the third was not mailed
    # An unknown address gets the same answer, so the limit tells nothing either.
    for number in range(3):
        response, _ = ask_and_run("nobody@acme.example", address=f"198.51.100.{number + 20}")
        assert response.status_code == 302


def test_requests_from_one_client_address_are_limited(db, settings, ask_and_run):
    settings.PASSWORD_RESET_IP_LIMIT = 3
    for number in range(3):
        assert ask_and_run(f"user{number}@acme.example")[0].status_code == 302
    assert ask_and_run("user9@acme.example")[0].status_code == 429
    assert ask_and_run("user9@acme.example", address="198.51.100.11")[0].status_code == 302


def test_the_default_limits(settings):
    assert settings.PASSWORD_RESET_IP_LIMIT == 20
    assert settings.PASSWORD_RESET_EMAIL_LIMIT == 5
