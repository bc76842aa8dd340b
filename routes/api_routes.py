"""The two OAuth mailbox routes: Microsoft Graph's sendMail and the Gmail API's
messages.send. Both take the MIME message the one builder made (routes.messages),
so the Message-ID, headers and parts are those an SMTP route would send, and raise only
SendFailure (routes.api_errors).

Only the operator's fixed provider hosts are ever fetched; the host guard is for tenant
hosts and does not apply. The one tenant value in a URL is the saved From of a shared
mailbox, as a single percent-encoded path segment."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import httpx2
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from routes.api_errors import (
    gmail_failure,
    graph_failure,
    network_failure,
    provider_in_trouble,
    unclear_answer,
)
from routes.failures import SendFailure
from routes.messages import PreparedMessage
from routes.models import Provider
from routes.oauth_tokens import AccessToken, access_token


class ApiRoute:
    provider_name = ""

    def __init__(self, *, tenant_id: int, from_email: str, timeout: float):
        self.tenant_id = tenant_id
        self.from_email = from_email
        self.timeout = timeout
        self.token: AccessToken | None = None
        self.client: httpx2.Client | None = None
        self.interrupted = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        if self.token is None:
            self.token = access_token(self.tenant_id, self.provider_name)
        if self.client is None:
            self.client = httpx2.Client(timeout=self.timeout, follow_redirects=False)

    def sender(self) -> str:
        """The From: the saved address, else the connected mailbox itself."""
        return self.from_email or self.token.account_email

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def send(self, message: PreparedMessage) -> str:
        """Send one message; the provider's id for it ("" when it gives none)."""
        if self.interrupted:
            # The provider left a send unanswered: the rest of the batch waits in the
            # queue (no tries used) instead of each meeting the same time-out.
            raise provider_in_trouble(self.provider_name)
        self.open()
        try:
            response = self._post(message)
            if response.status_code == 401:
                # Expired or revoked since we read it: renew once (another worker may have).
                self.token = access_token(
                    self.tenant_id, self.provider_name, rejected=self.token.value
                )
                response = self._post(message)
            return self._accepted(response)
        except SendFailure as failure:
            self.interrupted = bool(failure.maybe_delivered)
            raise

    @sensitive_variables("headers")
    def _post(self, message: PreparedMessage) -> httpx2.Response:
        url, content_type, body = self._request(message)
        headers = {"Authorization": f"Bearer {self.token.value}", "Content-Type": content_type}
        try:
            return self.client.post(url, headers=headers, content=body)
        except httpx2.HTTPError as error:
            raise network_failure(self.provider_name, error) from None

    def _request(self, message: PreparedMessage) -> tuple[str, str, bytes]:
        """URL, content type and body of the send request."""
        raise NotImplementedError

    def _accepted(self, response: httpx2.Response) -> str:
        raise NotImplementedError


class MicrosoftGraphRoute(ApiRoute):
    """POST /me/sendMail with the MIME message base64-encoded as a text/plain body;
    202 Accepted means Sent, and the message lands in the mailbox's Sent Items. A saved
    From other than the signed-in account (a shared mailbox) goes through
    /users/{From}/sendMail, which needs Send As rights on it.
    https://learn.microsoft.com/en-us/graph/api/user-sendmail?view=graph-rest-1.0"""

    provider_name = Provider.MICROSOFT

    def _request(self, message: PreparedMessage) -> tuple[str, str, bytes]:
        graph = settings.MICROSOFT_GRAPH_URL
        sender = self.sender()
        if sender.lower() == self.token.account_email.lower():
            url = f"{graph}/v1.0/me/sendMail"
        else:
            url = f"{graph}/v1.0/users/{quote(sender, safe='@')}/sendMail"
        return url, "text/plain", base64.b64encode(message.data)

    def _accepted(self, response: httpx2.Response) -> str:
        if response.status_code == 202:
            return ""
        raise graph_failure(response, from_email=self.sender(), account=self.token.account_email)


class GmailRoute(ApiRoute):
    """POST users/me/messages/send with {"raw": base64url(MIME)}; 200 with the message's
    id means Sent. Gmail may rewrite the Message-ID, so its id is kept beside ours.
    https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send"""

    provider_name = Provider.GOOGLE

    def _request(self, message: PreparedMessage) -> tuple[str, str, bytes]:
        url = f"{settings.GOOGLE_API_URL}/gmail/v1/users/me/messages/send"
        raw = base64.urlsafe_b64encode(message.data).decode()
        return url, "application/json", json.dumps({"raw": raw}).encode()

    def _accepted(self, response: httpx2.Response) -> str:
        if response.status_code == 200:
            try:
                message_id = str(response.json().get("id") or "")[:100]
            except (ValueError, AttributeError):
                message_id = ""
            if message_id:
                return message_id
            # 200 without the message's id is not what Gmail documents: it may have sent
            # it, and we cannot tell, so it is neither Sent nor retried.
            raise unclear_answer("google", response)
        raise gmail_failure(response)


API_ROUTES = {Provider.MICROSOFT: MicrosoftGraphRoute, Provider.GOOGLE: GmailRoute}


def api_route(provider_name: str, *, tenant_id: int, from_email: str, timeout: float) -> ApiRoute:
    return API_ROUTES[provider_name](tenant_id=tenant_id, from_email=from_email, timeout=timeout)
