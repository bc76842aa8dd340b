"""The production gunicorn command (Dockerfile, compose, docs/deployment.md) opens no
control socket: gunicorn 27 would put one at ~/.gunicorn/gunicorn.ctl, a path that every
instance run by one user on a machine shares."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def dockerfile_command() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*?\])$", text.replace("\\\n", " "), re.M)
    return json.loads(cmd)


def compose_command() -> list[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    (command,) = re.findall(r"^\s*command: (\[\"gunicorn\".*\])$", text, re.M)
    return json.loads(command)


def docs_command() -> list[str]:
    text = (ROOT / "docs" / "deployment.md").read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith("gunicorn ")]
    return line.split()


def test_every_documented_gunicorn_command_turns_the_control_socket_off():
    for command in (dockerfile_command(), compose_command(), docs_command()):
        assert "--no-control-socket" in command, command
    assert dockerfile_command() == compose_command() == docs_command()


def test_the_images_command_starts_without_a_control_socket(tmp_path):
    command = dockerfile_command()
    command[0] = str(GUNICORN)
    command[command.index("--bind") + 1] = "127.0.0.1:0"  # gunicorn picks a free port
    command[command.index("--workers") + 1] = "1"
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "HOME": str(tmp_path)},
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Booting worker" in line:
                break
    finally:
        process.send_signal(signal.SIGINT)  # a quick stop, not the graceful one
        lines.extend(process.communicate(timeout=30)[1].splitlines())
    output = "".join(lines)
    assert "Booting worker" in output, output
    assert "Control socket" not in output
    assert not (tmp_path / ".gunicorn").exists()
