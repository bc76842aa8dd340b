"""`OAUTH_STANDIN=1 make run`: while the stand-in serves, a manage.py command run in
another terminal (the README's send_reminders) uses the stand-in's provider settings,
not the real Google and Microsoft APIs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dev import standin_file
from dev.oauth_standin import settings_for

ROOT = Path(__file__).resolve().parents[2]


def wait_for(path: Path, *, present: bool, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() != present:
        assert time.monotonic() < deadline, f"{path} still {'absent' if present else 'there'}"
        time.sleep(0.05)


def test_the_stand_in_keeps_its_settings_in_the_file_while_it_serves(tmp_path, refused_port):
    path = tmp_path / ".run" / "oauth-standin.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "dev.oauth_standin", "--port", "0"]
        + ["--relay-port", str(refused_port), "--env-file", str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(path, present=True)
        values = standin_file.read(path)
        port = int(values["GOOGLE_API_URL"].split(":")[2].split("/")[0])
        assert values == settings_for(port)
        assert values["GOOGLE_API_URL"] == f"http://127.0.0.1:{port}/google-gmail"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert not path.exists()  # a stopped stand-in leaves no settings behind


def write_for(base: Path, pid: int) -> None:
    standin_file.write(base / standin_file.RELATIVE_PATH, settings_for(1090), pid=pid)


def test_a_manage_py_command_takes_the_stand_ins_settings_over_the_shells(tmp_path):
    write_for(tmp_path, os.getpid())
    environ = {"GOOGLE_API_URL": "https://gmail.googleapis.com", "PATH": "/usr/bin"}
    standin_file.apply_to_command(tmp_path, ["manage.py", "send_reminders"], environ)
    assert environ["GOOGLE_API_URL"] == "http://127.0.0.1:1090/google-gmail"
    assert environ["GOOGLE_CLIENT_ID"] == settings_for(1090)["GOOGLE_CLIENT_ID"]
    assert environ["PATH"] == "/usr/bin"
    assert standin_file.PID_KEY not in environ


def test_other_programs_and_a_dead_stand_ins_file_are_left_alone(tmp_path):
    write_for(tmp_path, os.getpid())
    for argv in (["/work/main/.venv/bin/pytest"], ["celery", "-A", "yaypay_mail"], []):
        environ: dict[str, str] = {}
        standin_file.apply_to_command(tmp_path, argv, environ)
        assert environ == {}

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_for(tmp_path, dead.pid)  # the stand-in was killed and left its file
    environ = {}
    standin_file.apply_to_command(tmp_path, ["manage.py", "send_reminders"], environ)
    assert environ == {}
