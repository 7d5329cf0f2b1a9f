"""Who may open the monitor and what they may do: HTTP basic auth, roles, and CSRF tokens for actions.

The monitor authenticates as the SOAP frontend does, by HTTP basic auth. Users come from the settings'
``monitor.users`` (viewer or operator); without them the monitor is open to view (never to act), and served
only on a loopback address of a service without basic auth (:func:`why_not_served`). Every action is a POST
that carries a token bound to the user (an HMAC with a key of the process) and comes from the monitor's own
pages (``Origin``, the service's own or its ``publicUrl``'s, or ``Sec-Fetch-Site``): a page elsewhere cannot
make a logged-in browser act.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import Request

from idocbridge.errors import IdocbridgeError
from idocbridge.models.secrets import resolve_secret
from idocbridge.models.settings import MonitorSettings

__all__ = ["ANONYMOUS", "Gate", "MonitorAccessError", "Viewer", "resolve_monitor_passwords", "why_not_served"]

log = logging.getLogger("idocbridge.monitor")

LOCKOUT_AFTER = 10
LOCKOUT_SECONDS = 300
"""A client address that sends LOCKOUT_AFTER wrong logons within LOCKOUT_SECONDS waits until the oldest of them
is that old (HTTP 429 with Retry-After): guessing passwords takes ages, a typo costs nothing."""

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

    def __init__(self, settings: MonitorSettings, passwords: Mapping[str, str], public_url: str | None = None) -> None:
        self._users: dict[str, tuple[bytes, Role]] = {
            user.name: (_digest(passwords[user.name]), user.role) for user in settings.users
        }
        self._key = secrets.token_bytes(32)
        self._public_origin = _origin_of(public_url) if public_url else None
        self._wrong: dict[str, deque[float]] = {}
        """Per client address, when its last wrong logons came (at most LOCKOUT_AFTER)."""
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """True when nobody is configured: anyone may view, nobody may act."""
        return not self._users

    def locked_out(self, request: Request) -> int:
        """Seconds the client of ``request`` must wait before it may log on again (0: it may): after
        :data:`LOCKOUT_AFTER` wrong logons within :data:`LOCKOUT_SECONDS`, until the oldest of them is that old."""
        times = self._wrong.get(_client(request))
        if not times:
            return 0
        now = time.monotonic()
        while times and now - times[0] > LOCKOUT_SECONDS:
            times.popleft()
        return int(LOCKOUT_SECONDS - (now - times[0])) + 1 if len(times) >= LOCKOUT_AFTER else 0

    def viewer(self, request: Request) -> Viewer | None:
        """Who sent ``request`` (None: wrong or missing credentials, or a client locked out for now)."""
        if self.open:
            return ANONYMOUS
        if self.locked_out(request):
            return None
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
        elif hmac.compare_digest(given, known[0]):
            return Viewer(name, known[1])
        client = _client(request)
        with self._lock:
            self._wrong.setdefault(client, deque(maxlen=LOCKOUT_AFTER)).append(time.monotonic())
            if len(self._wrong) > 10_000:  # a flood of addresses: forget the oldest
                self._wrong.pop(next(iter(self._wrong)))
        log.warning("monitor: wrong user name or password from %s (user %r)", client, name[:64])
        return None

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
        if origin is not None and origin not in (_origin_of(str(request.url)), self._public_origin):
            return "the action did not come from the monitor's own page"
        return None


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, as browsers send it in ``Origin``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def why_not_served(settings: MonitorSettings, host: str, basic_auth_user: str | None) -> str | None:
    """Why the monitor is not served with these settings (None: it is). Without users it is open to view, which
    is only right for a service nobody else reaches: without users it is served on a loopback address alone, and
    never beside a service that asks clients for a password (that account is a client's, not a person's)."""
    if not settings.enabled:
        return "monitor.enabled is false"
    if settings.users:
        return None
    if basic_auth_user is not None:
        return ("the service asks clients for a password but monitor.users names nobody: list the people who may "
                "open it (monitor.users, see docs/monitor.md)")  # fmt: skip
    if host not in ("127.0.0.1", "::1", "localhost"):
        return (f"the service listens on {host} and monitor.users names nobody: list the people who may open it "
                "(monitor.users, see docs/monitor.md), or serve on 127.0.0.1")  # fmt: skip
    return None
