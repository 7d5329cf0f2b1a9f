"""Who may open the monitor and what they may do: HTTP basic auth, roles, and CSRF tokens for actions.

The monitor authenticates as the SOAP frontend does, by HTTP basic auth. Users come from the settings'
``monitor.users`` (viewer or operator); without them the service's ``basicAuthUser`` may view, and without
that the monitor is open to view (never to act). Every action is a POST that carries a token bound to the
user (an HMAC with a key of the process) and comes from the monitor's own pages (``Origin`` or
``Sec-Fetch-Site``): a page elsewhere cannot make a logged-in browser act.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from idocbridge.errors import IdocbridgeError
from idocbridge.models.secrets import resolve_secret
from idocbridge.models.settings import MonitorSettings

__all__ = ["ANONYMOUS", "Gate", "MonitorAccessError", "Viewer", "resolve_monitor_passwords"]

Role = Literal["viewer", "operator"]


class MonitorAccessError(IdocbridgeError):
    """A monitor user's password cannot be read when the service starts."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: their name (``-`` when the monitor is open) and role."""

    name: str
    role: Role

    @property
    def may_act(self) -> bool:
        """Whether they may retry and cancel."""
        return self.role == "operator"


ANONYMOUS = Viewer("-", "viewer")


def resolve_monitor_passwords(settings: MonitorSettings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each monitor user's password, read from its reference; MonitorAccessError names the user whose is missing."""
    passwords: dict[str, str] = {}
    for user in settings.users:
        try:
            passwords[user.name] = resolve_secret(user.password, environ).reveal()
        except IdocbridgeError as exc:
            raise MonitorAccessError(f"the password of monitor user {user.name!r} cannot be read: {exc}") from None
    return passwords


class Gate:
    """Checks a request's credentials and action tokens."""

    def __init__(
        self,
        settings: MonitorSettings,
        passwords: Mapping[str, str],
        service_user: str | None = None,
        service_password: str | None = None,
    ) -> None:
        self._users: dict[str, tuple[bytes, Role]] = {
            user.name: (_digest(passwords[user.name]), user.role) for user in settings.users
        }
        if not self._users and service_user is not None:
            self._users[service_user] = (_digest(service_password or ""), "viewer")
        self._key = secrets.token_bytes(32)

    @property
    def open(self) -> bool:
        """True when nobody is configured: anyone may view, nobody may act."""
        return not self._users

    def viewer(self, request: Request) -> Viewer | None:
        """Who sent ``request`` (None: wrong or missing credentials)."""
        if self.open:
            return ANONYMOUS
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error):
            return None
        known = self._users.get(name)
        given = _digest(password)
        if known is None:
            hmac.compare_digest(given, given)  # the same work for an unknown name
            return None
        return Viewer(name, known[1]) if hmac.compare_digest(given, known[0]) else None

    def token(self, viewer: Viewer) -> str:
        """The action token of ``viewer`` (the same for the process's life)."""
        return hmac.new(self._key, viewer.name.encode("utf-8"), hashlib.sha256).hexdigest()

    def action_allowed(self, request: Request, viewer: Viewer, token: str) -> str | None:
        """None when ``viewer`` may act with this request, else why not (for the page)."""
        if not viewer.may_act:
            return f"{viewer.name} is a viewer: retry and cancel need the operator role"
        if not hmac.compare_digest(token.encode(), self.token(viewer).encode()):
            return "the form is out of date or did not come from the monitor: open the page again and repeat"
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if site is not None and site not in ("same-origin", "none"):
            return "the action did not come from the monitor's own page"
        if origin is not None and origin != "null" and origin != _own_origin(request):
            return "the action did not come from the monitor's own page"
        return None


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"
