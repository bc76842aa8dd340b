"""The OAuth stand-in's provider settings, shared with commands run beside `make run`.

`OAUTH_STANDIN=1 make run` points its web app and worker at the local stand-in through
environment variables; a `manage.py send_reminders` typed in another terminal does not
have them and would call the real Google and Microsoft APIs. So the stand-in writes its
settings to `.run/oauth-standin.env` while it serves (with its process id), removes the
file when it stops, and in development a manage.py command reads it. A file whose
process is gone (the stand-in was killed) is ignored. Nothing here imports Django.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

RELATIVE_PATH = Path(".run") / "oauth-standin.env"
PID_KEY = "OAUTH_STANDIN_PID"


def write(path: Path, values: Mapping[str, str], *, pid: int) -> None:
    """KEY=VALUE lines, the owner's pid first; replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{PID_KEY}={pid}", *(f"{key}={value}" for key, value in values.items())]
    partial = path.with_name(path.name + ".tmp")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(path)


def remove(path: Path, *, pid: int) -> None:
    """Remove the file if `pid` wrote it (a newer stand-in may have replaced it)."""
    try:
        if _parse(path.read_text()).get(PID_KEY) == str(pid):
            path.unlink()
    except FileNotFoundError:
        pass


def read(path: Path) -> dict[str, str]:
    """The settings of a stand-in that is still running; {} otherwise."""
    try:
        values = _parse(path.read_text())
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    pid = values.pop(PID_KEY, "")
    return values if pid.isdigit() and _alive(int(pid)) else {}


def apply_to_command(base_dir: Path, argv: Sequence[str], environ: MutableMapping[str, str]):
    """For a `manage.py` command, put a running stand-in's settings into `environ` (as
    `make run` does for its own processes, they replace what the shell had). Other
    programs (pytest, a worker started by a test) never read the file: tests reach only
    servers they start themselves."""
    if not argv or Path(argv[0]).name != "manage.py":
        return
    environ.update(read(base_dir / RELATIVE_PATH))


def _parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True
