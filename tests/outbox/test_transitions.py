"""One state machine: outbox.transitions lists every status change of an outbound email,
only that module writes `status`, each change is guarded by the state it leaves, and
docs/outbox.md lists the same transitions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.utils import timezone

from outbox import transitions
from outbox.models import OutboundEmail, Status
from outbox.transitions import TRANSITIONS, Transition
from tests.page_data import make_email
from tests.project_packages import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {"update", "create", "bulk_create", "update_or_create", "get_or_create"}

EXPECTED = {
    "create": Transition(None, "queued"),
    "claim": Transition("queued", "sending"),
    "release": Transition("sending", "queued"),
    "reap": Transition("sending", "queued"),
    "sent": Transition("sending", "sent"),
    "retry": Transition("sending", "queued"),
    "error": Transition("sending", "error"),
    "requeue": Transition("sending", "queued"),
    "error_due": Transition("queued", "error"),
    "cancel": Transition("sending", "cancelled"),
    "resend": Transition("error", "queued"),
}


def test_the_allowed_transitions_are_these_and_no_others():
    assert TRANSITIONS == EXPECTED
    for name in TRANSITIONS:
        assert callable(getattr(transitions, name)), name


def status_writes(path: Path) -> list[str]:
    """Where a module that knows outbound emails writes a `status`: a keyword `status=`
    to an ORM write or a model's constructor, an assignment to `.status`, or SQL that
    sets it."""
    source = path.read_text()
    if "OutboundEmail" not in source and "outbox" not in source:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in WRITERS or name == "OutboundEmail":
                if any(keyword.arg == "status" for keyword in node.keywords):
                    found.append(f"{path}:{node.lineno} {name}(status=...)")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    found.append(f"{path}:{node.lineno} .status = ...")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.search(r"\bSET\s+status\s*=", node.value, re.I):
                found.append(f"{path}:{node.lineno} SQL SET status")
    return found


def test_no_other_module_writes_an_emails_status():
    writes = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.name == "transitions.py":
                continue
            writes += status_writes(path)
    # Other models have a status too (an import's job): only outbound emails are held here.
    writes = [w for w in writes if not w.startswith(str(ROOT / "imports"))]
    assert writes == []


def test_the_scan_sees_a_write(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from outbox.models import OutboundEmail\n"
        "OutboundEmail.objects.filter(pk=1).update(status='sent')\n"
        "email.status = 'error'\n"
        "SQL = 'UPDATE communications_outboundemail SET status = 1'\n"
    )
    assert len(status_writes(sneaky)) == 3


def test_docs_outbox_lists_the_same_transitions():
    text = (ROOT / "docs" / "outbox.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\S+) \| (\S+) \|", text, re.M)
    documented = {name: Transition(None if a == "—" else a, b) for name, a, b in rows}
    assert documented == {name: Transition(t.source, t.target) for name, t in TRANSITIONS.items()}


def test_each_transition_leaves_only_the_state_it_names(tenant_a):
    sent = make_email(tenant_a, status=Status.SENT)
    queued = make_email(tenant_a, status=Status.QUEUED)
    assert transitions.resend(sent.pk) == 0  # only from Error
    assert transitions.cancel(queued.pk, owner="w", reason="x") == 0  # only while sending
    assert transitions.sent(queued.pk, owner="w", attempt=ATTEMPT) == 0
    assert (
        transitions.claim([sent.pk], owner="w", lease_end=timezone.now(), now=timezone.now()) == 0
    )
    assert (
        transitions.claim([queued.pk], owner="w", lease_end=timezone.now(), now=timezone.now()) == 1
    )
    # Another worker's lease: nothing it records lands.
    assert transitions.sent(queued.pk, owner="someone-else", attempt=ATTEMPT) == 0
    assert transitions.sent(queued.pk, owner="w", attempt=ATTEMPT) == 1
    assert OutboundEmail.objects.get(pk=queued.pk).status == Status.SENT
    assert OutboundEmail.objects.get(pk=sent.pk).status == Status.SENT
    assert queued.attempts.get().recipients == 1


ATTEMPT = {
    "route": "smtp",
    "provider_id": "",
    "from_header": "A <a@x>",
    "reply_to": "",
    "recipients": 1,
}
