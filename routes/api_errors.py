"""Every failure of an OAuth mailbox route (Microsoft Graph, the Gmail API, their token
endpoints) becomes one SendFailure, made here, with the provider's own error code in
the text. Classified by the provider's error code or reason first, the HTTP status only
after: a Gmail 403 is a rate limit when its reason says so and a permission problem
otherwise.

HTTP status and the provider's code go where an SMTP failure keeps its reply code and
text (smtp_code, smtp_reply), so pages show them the same way."""

from __future__ import annotations

import httpx2

from routes.failures import CREDENTIALS_UNREADABLE, INTERRUPTED, Scope, SendFailure, Stage
from routes.oauth_client import TokenRefused, retry_after_seconds

# A rate limit without Retry-After pauses the route for this long (seconds).
DEFAULT_PAUSE = 60.0
# Gmail's daily sending limit: come back in an hour, not in a minute.
DAILY_LIMIT_PAUSE = 3600.0

LABELS = {"microsoft": "Microsoft 365", "google": "Google"}

# https://developers.google.com/gmail/api/guides/handle-errors
GMAIL_RATE_REASONS = {"userRateLimitExceeded", "rateLimitExceeded"}
GMAIL_DAILY_REASONS = {"dailyLimitExceeded", "quotaExceeded"}
# https://learn.microsoft.com/en-us/graph/errors and Exchange's sendMail codes.
GRAPH_SEND_AS = {"ErrorSendAsDenied", "ErrorSendOnBehalfOfDenied"}
GRAPH_MAILBOX = {
    "MailboxNotEnabledForRESTAPI",
    "MailboxNotSupportedForRESTAPI",
    "ErrorMailboxNotEnabledForRESTAPI",
    "ErrorNonExistentMailbox",
    "ErrorInvalidUser",
    "ResourceNotFound",
    "ErrorAccessDenied",
    "Authorization_RequestDenied",
    "ErrorQuotaExceeded",
}
GRAPH_RECIPIENT = {"ErrorInvalidRecipients", "ErrorInvalidRecipientsInvalidDomain"}


def not_connected(provider: str) -> SendFailure:
    label = LABELS[provider]
    return SendFailure(
        code="auth_failed",
        message=f"No {label} mailbox is connected.",
        hint=f"Connect {label} in Settings | Email | Outgoing emails.",
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def turned_off(provider: str) -> SendFailure:
    """The operator removed the provider's client id while a tenant still uses it."""
    return SendFailure(
        code="provider_config",
        message=f"YayPay's operators turned off sending through {LABELS[provider]}.",
        hint="Choose another server in Settings | Email | Outgoing emails.",
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def tokens_unreadable(provider: str) -> SendFailure:
    return SendFailure(
        code="secret_unreadable",
        message=CREDENTIALS_UNREADABLE,
        hint=f"If this lasts, reconnect {LABELS[provider]} in Settings | Email | Outgoing emails.",
        temporary=True,
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def grant_refused(provider: str, refused: TokenRefused) -> SendFailure:
    """The refresh token no longer works (expired, revoked, password changed): an
    authentication failure. Nothing retries it; the admin must connect again."""
    label = LABELS[provider]
    return SendFailure(
        code="auth_failed",
        message=f"{label} no longer accepts YayPay's access to the mailbox ({refused.provider_code()}).",
        hint=f"Reconnect {label} in Settings | Email | Outgoing emails.",
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def token_failure(provider: str, refused: TokenRefused) -> SendFailure:
    """A refresh the token endpoint refused for another reason than the grant."""
    label = LABELS[provider]
    if refused.error in ("invalid_grant", "unauthorized_client", "interaction_required"):
        return grant_refused(provider, refused)
    if refused.status == 429 or (refused.status or 0) >= 500:
        return SendFailure(
            code="rate_limited" if refused.status in (429, 503) else "provider_unavailable",
            message=f"{label}'s sign-in service could not renew access just now (HTTP {refused.status}).",
            hint="Sending pauses and goes on by itself.",
            temporary=True,
            retry_after=refused.retry_after or DEFAULT_PAUSE,
            stage=Stage.AUTH,
            scope=Scope.ROUTE,
        )
    # invalid_client and the like: the operator's app registration, not the tenant.
    return SendFailure(
        code="provider_config",
        message=f"{label} refused YayPay's app registration ({refused.provider_code()}).",
        hint="YayPay's operators must check the app's client id and secret; your mail waits.",
        temporary=True,
        retry_after=DEFAULT_PAUSE * 5,
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def network_failure(provider: str, error: httpx2.HTTPError) -> SendFailure:
    """httpx raised instead of answering. Before the request went out (no connection,
    TLS or connect time-out) nothing was sent: try again. After that nobody knows
    whether the provider took it: Delivery interrupted, as after SMTP's DATA."""
    label = LABELS[provider]
    if isinstance(error, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout):
        return SendFailure(
            code="connect_failed",
            message=f"Could not reach {label} ({error.__class__.__name__}).",
            hint="It will be tried again.",
            temporary=True,
            stage=Stage.CONNECT,
            scope=Scope.ROUTE,
        )
    return SendFailure(
        code="interrupted",
        message=INTERRUPTED,
        hint=f"{label} did not answer after the email was handed over "
        f"({error.__class__.__name__}). Check the mailbox's Sent folder before resending.",
        stage=Stage.AFTER_DATA,
        scope=Scope.MESSAGE,
    )


def token_network_failure(provider: str, error: httpx2.HTTPError) -> SendFailure:
    """No answer from the token endpoint: nothing was sent, so only a pause and a retry."""
    label = LABELS[provider]
    return SendFailure(
        code="provider_unavailable",
        message=f"{label}'s sign-in service did not answer ({error.__class__.__name__}).",
        hint="Sending pauses and goes on by itself.",
        temporary=True,
        retry_after=DEFAULT_PAUSE,
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def unclear_answer(provider: str, response: httpx2.Response) -> SendFailure:
    return SendFailure(
        code="interrupted",
        message=INTERRUPTED,
        hint=f"{LABELS[provider]} answered HTTP {response.status_code} without the message's "
        "id. Check the mailbox's Sent folder before resending.",
        smtp_code=response.status_code,
        smtp_reply=" ".join(response.text.split())[:200],
        stage=Stage.AFTER_DATA,
        scope=Scope.MESSAGE,
    )


def provider_in_trouble(provider: str) -> SendFailure:
    """After a send the provider left unanswered, the rest of the batch waits."""
    label = LABELS[provider]
    return SendFailure(
        code="provider_unavailable",
        message=f"{label} did not answer the previous email in time.",
        hint="Sending from this mailbox pauses for a minute and goes on by itself; no tries "
        "are used.",
        temporary=True,
        retry_after=DEFAULT_PAUSE,
        stage=Stage.MAIL,
        scope=Scope.ROUTE,
    )


def _server_error(provider: str, response: httpx2.Response, provider_code: str, text: str):
    label = LABELS[provider]
    status = response.status_code
    if status == 503 or status == 429:
        return _rate_limited(provider, response, provider_code, text)
    # 500, 502, 504 after the request went out: it may have been sent.
    return SendFailure(
        code="interrupted",
        message=INTERRUPTED,
        hint=f"{label} answered HTTP {status} after the email was handed over. "
        "Check the mailbox's Sent folder before resending.",
        smtp_code=status,
        smtp_reply=_reply(provider_code, text),
        stage=Stage.AFTER_DATA,
        scope=Scope.MESSAGE,
    )


def _rate_limited(
    provider: str, response: httpx2.Response, provider_code: str, text: str, *, pause=None
):
    label = LABELS[provider]
    wait = retry_after_seconds(response) or pause or DEFAULT_PAUSE
    return SendFailure(
        code="rate_limited",
        message=f"{label} asked YayPay to slow down ({provider_code or response.status_code}).",
        hint=f"Sending from this mailbox pauses for {_duration(wait)} and goes on by itself; "
        "no tries are used.",
        smtp_code=response.status_code,
        smtp_reply=_reply(provider_code, text),
        temporary=True,
        retry_after=wait,
        stage=Stage.MAIL,
        scope=Scope.ROUTE,
    )


def access_refused(provider: str, response: httpx2.Response, code: str, text: str) -> SendFailure:
    """401 even with a freshly renewed token: the grant no longer works (the account was
    disabled, or its consent withdrawn). Like a refused login: no more tries."""
    label = LABELS[provider]
    return SendFailure(
        code="auth_failed",
        message=f"{label} refused YayPay's access to the mailbox ({code or response.status_code}).",
        hint=f"Reconnect {label} in Settings | Email | Outgoing emails.",
        smtp_code=response.status_code,
        smtp_reply=_reply(code, text),
        stage=Stage.AUTH,
        scope=Scope.ROUTE,
    )


def graph_failure(response: httpx2.Response, *, from_email: str, account: str) -> SendFailure:
    """A Graph sendMail answer other than 202. Body shape (learn.microsoft.com/en-us/graph/errors):
    {"error": {"code": "ErrorSendAsDenied", "message": "...", "innerError": {...}}}"""
    code, text = _graph_error(response)
    status = response.status_code
    if status == 401:
        return access_refused("microsoft", response, code, text)
    if status == 429 or status == 503 or code in ("ApplicationThrottled", "TooManyRequests"):
        return _rate_limited("microsoft", response, code, text)
    if status >= 500:
        return _server_error("microsoft", response, code, text)
    if code in GRAPH_SEND_AS:
        return SendFailure(
            code="send_as_denied",
            message=f"{account} may not send as {from_email} ({code}).",
            hint=f"Ask your IT to give {account} Send As rights on the {from_email} mailbox "
            "(Exchange admin center: Recipients, Mailboxes, Delegation), or reconnect as "
            f"{from_email} itself.",
            smtp_code=status,
            smtp_reply=_reply(code, text),
            stage=Stage.MAIL,
            scope=Scope.ROUTE,
        )
    if code in GRAPH_MAILBOX or status in (403, 404):
        return SendFailure(
            code="mailbox_unavailable",
            message=f"Microsoft 365 will not send from this mailbox ({code or status}).",
            hint="Ask your IT to check that the mailbox has an Exchange Online licence and that "
            "access through Microsoft Graph (REST) is allowed for it.",
            smtp_code=status,
            smtp_reply=_reply(code, text),
            stage=Stage.MAIL,
            scope=Scope.ROUTE,
        )
    if code in GRAPH_RECIPIENT or status == 400:
        return _bad_message("microsoft", status, code, text)
    return _other("microsoft", status, code, text)


def gmail_failure(response: httpx2.Response) -> SendFailure:
    """A Gmail messages.send answer other than 200. Body shape
    (developers.google.com/gmail/api/guides/handle-errors): {"error": {"code": 403,
    "message": "...", "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}],
    "status": "PERMISSION_DENIED"}}"""
    reason, text = _gmail_error(response)
    status = response.status_code
    if status == 401:
        return access_refused("google", response, reason, text)
    if reason in GMAIL_RATE_REASONS or status == 429:
        return _rate_limited("google", response, reason, text)
    if reason in GMAIL_DAILY_REASONS:
        return _rate_limited("google", response, reason, text, pause=DAILY_LIMIT_PAUSE)
    if status >= 500:
        return _server_error("google", response, reason, text)
    if status == 403 or reason in ("failedPrecondition", "insufficientPermissions", "forbidden"):
        return SendFailure(
            code="mailbox_unavailable",
            message=f"Google will not send from this mailbox ({reason or status}).",
            hint="Ask your Google Workspace admin to check that Gmail is on for this account and "
            "that YayPay is allowed to use the Gmail API (Security, API controls).",
            smtp_code=status,
            smtp_reply=_reply(reason, text),
            stage=Stage.MAIL,
            scope=Scope.ROUTE,
        )
    if status == 400:
        return _bad_message("google", status, reason, text)
    return _other("google", status, reason, text)


def _bad_message(provider: str, status: int, code: str, text: str) -> SendFailure:
    return SendFailure(
        code="recipient_refused",
        message=f"{LABELS[provider]} refused this email ({code or status}).",
        hint="Check the customer's email addresses, then resend.",
        smtp_code=status,
        smtp_reply=_reply(code, text),
        stage=Stage.RCPT,
        scope=Scope.MESSAGE,
    )


def _other(provider: str, status: int, code: str, text: str) -> SendFailure:
    return SendFailure(
        code="message_refused",
        message=f"{LABELS[provider]} refused this email ({code or status}).",
        smtp_code=status,
        smtp_reply=_reply(code, text),
        stage=Stage.DATA,
        scope=Scope.MESSAGE,
    )


def _graph_error(response: httpx2.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "", response.text[:200]


def _gmail_error(response: httpx2.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error") or {}
        details = error.get("errors") or [{}]
        reason = str(details[0].get("reason") or error.get("status") or "")
        return reason, str(error.get("message") or "")
    except (ValueError, AttributeError, IndexError):
        return "", response.text[:200]


def _reply(code: str, text: str) -> str:
    reply = f"{code}: {text}" if code and text else code or text
    return " ".join(reply.split())[:500]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
