"""How a room above the engine joins in just before a batch is sent, without the engine
importing it: a hook registered per kind of email (dunning registers the reminders' in
its AppConfig.ready()), as Django's own apps register theirs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from outbox.models import OutboundEmail
from routes.messages import InlineImage

OnError = Callable[[OutboundEmail, Exception], None]
Ready = tuple[OutboundEmail, InlineImage | None]


class PreSendHook(Protocol):
    def __call__(
        self, emails: list[OutboundEmail], *, owner: str, on_error: OnError
    ) -> list[Ready]:
        """The emails still to send, each with the inline image its HTML shows (or None).
        An email the hook cannot prepare goes to `on_error`; one it decides not to send
        it moves out of `sending` itself (outbox.outcomes)."""
        ...


_pre_send: dict[str, PreSendHook] = {}


def register_pre_send(kind: str, hook: PreSendHook) -> None:
    _pre_send[kind] = hook


def run_pre_send(batch: list[OutboundEmail], *, owner: str, on_error: OnError) -> list[Ready]:
    """The batch after every kind's hook, still in id order (outcomes are recorded in
    that order: the reaper relies on it)."""
    by_kind: dict[str, list[OutboundEmail]] = defaultdict(list)
    for email in batch:
        by_kind[email.kind].append(email)
    ready: list[Ready] = []
    for kind, emails in by_kind.items():
        hook = _pre_send.get(kind)
        if hook is None:
            ready.extend((email, None) for email in emails)
        else:
            ready.extend(hook(emails, owner=owner, on_error=on_error))
    return sorted(ready, key=lambda pair: pair[0].pk)
