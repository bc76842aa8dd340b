"""Microsoft 365 and Google for local development: ``python -m dev.oauth_standin``.

Runs the test suite's provider stand-in (tests/oauth_standin.py) on 127.0.0.1:1090 with
two demo mailboxes, so "Connect Microsoft 365" and "Connect Google" can be clicked
through with no real provider: its consent page has an account list and Accept. Every
message a connected mailbox sends is handed on to the mail catcher (127.0.0.1:1025),
so it shows there beside the gateway's mail. ``OAUTH_STANDIN=1 make run`` starts it and
points the app at it; ``--print-env`` prints the settings that does.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import sys
import threading
from pathlib import Path

from dev import standin_file
from tests.oauth_standin import StandIn

MICROSOFT_MAILBOX = "ar@demo.example"
MICROSOFT_SHARED = "billing@demo.example"
GOOGLE_MAILBOX = "ar@demo-mail.example"


def settings_for(port: int) -> dict[str, str]:
    return {**StandIn(port).settings(), "OAUTH_REDIRECT_BASE": "http://127.0.0.1:8000"}


def relay(standin: StandIn, smtp_port: int, stop: threading.Event) -> None:
    """Hand each message the stand-in accepted to the mail catcher, once."""
    handed = 0
    while not stop.wait(0.5):
        sent = standin.sent
        for message in sent[handed:]:
            try:
                with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
                    smtp.sendmail(message.from_addr, message.to, message.raw)
            except (OSError, smtplib.SMTPException) as error:
                print(f"OAuth stand-in: could not hand a message on: {error}", flush=True)
        handed = len(sent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.oauth_standin", description=__doc__)
    parser.add_argument("--port", type=int, default=1090)
    parser.add_argument("--relay-port", type=int, default=1025, help="the mail catcher's SMTP")
    parser.add_argument("--print-env", action="store_true", help="print `export` lines, exit")
    parser.add_argument(
        "--env-file",
        type=Path,
        help="while serving, keep the settings in this file for commands run beside make run",
    )
    args = parser.parse_args(argv)
    if args.print_env:
        for name, value in settings_for(args.port).items():
            print(f"export {name}={value}")
        return 0

    standin = StandIn(args.port)
    standin.add_microsoft_user(MICROSOFT_MAILBOX, send_as=[MICROSOFT_SHARED])
    standin.add_google_user(GOOGLE_MAILBOX)
    try:
        standin.start()
    except OSError as error:
        print(f"OAuth stand-in: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    if args.env_file:
        standin_file.write(args.env_file, settings_for(standin.port), pid=os.getpid())
    stop = threading.Event()
    threading.Thread(target=relay, args=(standin, args.relay_port, stop), daemon=True).start()

    def terminate(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    print(
        f"OAuth stand-in: Microsoft 365 and Google on {standin.base_url} "
        f"(mailboxes {MICROSOFT_MAILBOX}, which may send as {MICROSOFT_SHARED}, and "
        f"{GOOGLE_MAILBOX}); sent mail goes on to the catcher",
        flush=True,
    )
    stop.wait()
    if args.env_file:
        standin_file.remove(args.env_file, pid=os.getpid())
    standin.stop()
    print("OAuth stand-in: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
