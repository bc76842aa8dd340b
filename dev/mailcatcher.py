"""Local development mail catcher: ``python -m dev.mailcatcher``.

Accepts every message on 127.0.0.1:1025 (AUTH optional, any credentials), keeps the
last 200 in memory, prints one line per message and shows them on
http://127.0.0.1:1080 (and as JSON on /messages.json). Nothing is ever relayed.
"""

from __future__ import annotations

import argparse
import email
import email.message
import email.policy
import html
import itertools
import json
import logging
import signal
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

HOST = "127.0.0.1"
KEEP = 200


@dataclass(frozen=True)
class CaughtMessage:
    """One caught message."""

    id: int
    received_at: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def summary(self) -> dict[str, Any]:
        """Header fields and the text part, as JSON-ready strings."""
        parsed = self.parsed
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(timespec="seconds"),
            "envelope_from": self.mail_from,
            "envelope_to": list(self.rcpt_tos),
            "from": _header(parsed, "From"),
            "to": _header(parsed, "To"),
            "subject": _header(parsed, "Subject"),
            "text": _text_part(parsed),
        }


def _header(message: email.message.EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, ""))
    except Exception:  # a malformed header must not break the listing
        return str(message.get_all(name, [""])[0])


def _text_part(message: email.message.EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        return str(part.get_content()) if part is not None else ""
    except Exception:  # undecodable body: show the raw payload instead
        payload = message.get_payload()
        return payload if isinstance(payload, str) else ""


class Mailbox:
    """Thread-safe store of the most recent messages."""

    def __init__(self, keep: int = KEEP) -> None:
        self._messages: deque[CaughtMessage] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> CaughtMessage:
        with self._lock:
            message = CaughtMessage(
                id=next(self._ids),
                received_at=datetime.now().astimezone(),
                mail_from=mail_from,
                rcpt_tos=tuple(rcpt_tos),
                raw=raw,
            )
            self._messages.append(message)
        return message

    def newest_first(self) -> list[CaughtMessage]:
        with self._lock:
            return list(reversed(self._messages))

    def get(self, message_id: int) -> CaughtMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)


class CatchingHandler:
    """aiosmtpd handler storing every message in a Mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        caught = self.mailbox.add(
            envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b""
        )
        subject = _header(caught.parsed, "Subject")
        print(f"caught: {caught.mail_from} -> {', '.join(caught.rcpt_tos)}: {subject}", flush=True)
        return "250 2.0.0 Ok: caught"


def _accept_any_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class _Quiet(logging.Filter):
    # aiosmtpd 1.4.6 logs this deprecation itself on every successful AUTH.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Session.login_data is deprecated" not in record.getMessage()


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mail catcher</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: .3rem .6rem; }}
tr.head td {{ border-top: 1px solid #ccc; font-weight: 600; }}
pre {{ white-space: pre-wrap; background: #f6f6f6; padding: .6rem; margin: 0; }}
</style></head><body>
<h1>Mail catcher</h1>
<p>{count} message(s), newest first. SMTP on {smtp}; nothing is delivered.
<a href="/">Refresh</a> &middot; <a href="/messages.json">JSON</a></p>
<table>
<tr><th>Time</th><th>From</th><th>To</th><th>Subject</th></tr>
{rows}
</table>
</body></html>
"""

ROW = """<tr class="head"><td>{time}</td><td>{sender}</td><td>{to}</td><td>{subject}</td></tr>
<tr><td colspan="4"><details open><summary>Text &middot; <a href="/messages/{id}.eml">raw</a>\
</summary><pre>{text}</pre></details></td></tr>
"""


def render_page(mailbox: Mailbox, smtp_address: str) -> str:
    """The HTML listing; every value is escaped."""
    rows = []
    for message in mailbox.newest_first():
        info = message.summary()
        rows.append(
            ROW.format(
                id=message.id,
                time=html.escape(message.received_at.strftime("%Y-%m-%d %H:%M:%S")),
                sender=html.escape(info["from"] or info["envelope_from"]),
                to=html.escape(info["to"] or ", ".join(info["envelope_to"])),
                subject=html.escape(info["subject"]),
                text=html.escape(info["text"]),
            )
        )
    return PAGE.format(
        count=len(rows),
        smtp=html.escape(smtp_address),
        rows="\n".join(rows) or '<tr><td colspan="4">No mail caught yet.</td></tr>',
    )


def make_http_handler(mailbox: Mailbox, smtp_address: str) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``mailbox``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(200, "text/html; charset=utf-8", render_page(mailbox, smtp_address))
            elif path == "/messages.json":
                body = json.dumps([m.summary() for m in mailbox.newest_first()], indent=2)
                self._send(200, "application/json", body)
            elif path.startswith("/messages/") and path.endswith(".eml"):
                number = path.removeprefix("/messages/").removesuffix(".eml")
                message = mailbox.get(int(number)) if number.isdigit() else None
                if message is None:
                    self._send(404, "text/plain; charset=utf-8", "Not found\n")
                else:
                    self._send(200, "text/plain; charset=utf-8", message.raw)
            else:
                self._send(404, "text/plain; charset=utf-8", "Not found\n")

        def _send(self, status: int, content_type: str, body: str | bytes) -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per caught message is the only output we want

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m dev.mailcatcher", description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=1080)
    parser.add_argument(
        "--http-bind", default=HOST, help="address of the web page (SMTP stays on loopback)"
    )
    args = parser.parse_args(argv)

    logging.getLogger("mail.log").addFilter(_Quiet())
    mailbox = Mailbox()
    smtp_address = f"{HOST}:{args.smtp_port}"
    controller = Controller(
        CatchingHandler(mailbox),
        hostname=HOST,
        port=args.smtp_port,
        server_hostname="localhost",  # default is socket.getfqdn(), a DNS lookup
        auth_require_tls=False,
        authenticator=_accept_any_login,
    )
    try:
        httpd = ThreadingHTTPServer(
            (args.http_bind, args.http_port), make_http_handler(mailbox, smtp_address)
        )
    except OSError as error:
        print(
            f"Mail catcher: cannot listen on {args.http_bind}:{args.http_port}: {error}",
            file=sys.stderr,
        )
        return 1
    httpd.daemon_threads = True
    try:
        # aiosmtpd only reports a bind failure after its 5 s ready_timeout: probe first.
        with socket.create_server((HOST, args.smtp_port)):
            pass
        controller.start()
    except OSError as error:
        httpd.server_close()
        print(f"Mail catcher: cannot listen on {smtp_address}: {error}", file=sys.stderr)
        return 1

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(
        f"Mail catcher: SMTP on {smtp_address}, web on http://{args.http_bind}:{args.http_port}",
        flush=True,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        controller.stop()
        print("Mail catcher: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
