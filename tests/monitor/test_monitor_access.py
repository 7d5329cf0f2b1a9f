"""Who may see and do what in the monitor: basic auth, roles, action tokens and the origin of actions.

The monitor's routes run in-process (uvicorn on a thread, a real socket) over a real database with a real
outbox; httpx sends the requests. The browser tests in tests/browser drive the monitor that serve serves.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from idocbridge.db import create_engine_for, upgrade
from idocbridge.models.settings import MonitorSettings, MonitorUser
from idocbridge.monitor.app import MONITOR_PATH, MonitorContext, monitor_routes
from idocbridge.monitor.auth import (
    LOCKOUT_AFTER,
    LOCKOUT_SECONDS,
    Gate,
    MonitorAccessError,
    Viewer,
    resolve_monitor_passwords,
    why_not_served,
)
from idocbridge.sapsim.testing import txtraw
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.tables import NewEntry

USERS = MonitorSettings(users=[MonitorUser(name="vera", password="${V}", role="viewer"),
                               MonitorUser(name="otto", password="${O}", role="operator")])  # fmt: skip
PASSWORDS = {"vera": "v-secret", "otto": "o-secret"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    created = create_engine_for(f"sqlite:///{tmp_path / 'runtime.db'}")
    upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def client(serve_app: Callable[..., str]) -> Callable[[Engine, Gate], httpx.Client]:
    """``client(engine, gate)``: an HTTP client of the monitor of ``engine``'s outbox behind ``gate``."""
    opened: list[httpx.Client] = []

    def make(engine: Engine, gate: Gate) -> httpx.Client:
        context = MonitorContext(engine, OutboxStore(engine), None, gate, lambda: {"ERP": "closed"})
        url = serve_app(Starlette(routes=[Mount(MONITOR_PATH, routes=monitor_routes(context))]))
        opened.append(httpx.Client(base_url=url, timeout=30))
        return opened[-1]

    yield make  # type: ignore[misc]
    for one in opened:
        one.close()


Client = Callable[[Engine, Gate], httpx.Client]


def _auth(name: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{PASSWORDS[name]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _failed_entry(engine: Engine, belnr: str = "4711", queue: str | None = None, message_id: str = "m-1") -> str:
    store = OutboxStore(engine)
    entry = store.accept(NewEntry(service="S", operation="Send", alias="ERP", function="IDOC_INBOUND_ASYNCHRONOUS",
                                  parameters=txtraw("x"), transaction_id="t" * 40, message_id=message_id,
                                  queue=queue, keys=(("E1EDK01-BELNR", belnr), ("SNDPRN", "SHOPSYS"))))  # fmt: skip
    claimed = store.claim_one(entry.entry.id, "w", entry.entry.created_at, timedelta(minutes=1))
    assert claimed is not None
    store.mark_failed(entry.entry.id, "w", "refused", "IDOC_REFUSED")
    return entry.entry.id


def _token(html: str) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{64})"', html)
    assert match is not None, "the page carries an action token"
    return match.group(1)


def test_without_credentials_or_with_wrong_ones_the_monitor_asks_for_them(engine: Engine, client: Client) -> None:
    http = client(engine, Gate(USERS, PASSWORDS))
    answer = http.get(f"{MONITOR_PATH}/")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic realm=")
    wrong = base64.b64encode(b"vera:o-secret").decode()
    assert http.get(f"{MONITOR_PATH}/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert http.get(f"{MONITOR_PATH}/", headers={"Authorization": "Basic !!"}).status_code == 401
    assert http.get(f"{MONITOR_PATH}/", headers=_auth("vera")).status_code == 200


def test_an_operator_retries_with_the_pages_token_and_a_viewer_cannot(engine: Engine, client: Client) -> None:
    entry_id = _failed_entry(engine)
    gate = Gate(USERS, PASSWORDS)
    http = client(engine, gate)
    page = http.get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("vera"))
    assert page.status_code == 200 and "Retry now" not in page.text and 'name="token"' not in page.text
    assert "need the operator role" in page.text
    vera_token = gate.token(Viewer("vera", "viewer"))  # a valid token of hers: her role still says no
    refused = http.post(f"{MONITOR_PATH}/request/{entry_id}/retry", data={"token": vera_token},
                        headers=_auth("vera"), follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403 and "vera is a viewer" in refused.text
    assert OutboxStore(engine).get(entry_id).state is OutboxState.FAILED  # type: ignore[union-attr]

    page = http.get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("otto"))
    assert "Retry now" in page.text
    same_site = {"Origin": str(http.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    done = http.post(f"{MONITOR_PATH}/request/{entry_id}/retry", data={"token": _token(page.text)},
                     headers={**_auth("otto"), **same_site}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"].endswith(f"/request/{entry_id}?done=retried")
    assert OutboxStore(engine).get(entry_id).state is OutboxState.RETRY_WAIT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("headers", "token", "why"),
    [
        ({}, "0" * 64, "the form is out of date"),
        ({}, "", "the form is out of date"),
        ({"Origin": "https://evil.example"}, None, "did not come from the monitor"),
        ({"Sec-Fetch-Site": "cross-site"}, None, "did not come from the monitor"),
    ],
)
def test_an_action_without_the_token_or_from_another_site_is_refused(
    engine: Engine, client: Client, headers: dict[str, str], token: str | None, why: str
) -> None:
    entry_id = _failed_entry(engine)
    http = client(engine, Gate(USERS, PASSWORDS))
    page = http.get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("otto"))
    sent = _token(page.text) if token is None else token
    answer = http.post(f"{MONITOR_PATH}/request/{entry_id}/cancel", data={"token": sent},
                         headers={**_auth("otto"), **headers}, follow_redirects=False)  # fmt: skip
    assert answer.status_code == 403 and why in answer.text
    assert OutboxStore(engine).get(entry_id).state is OutboxState.FAILED  # type: ignore[union-attr]


def test_a_token_is_bound_to_its_user_and_to_the_process(engine: Engine, client: Client) -> None:
    first, second = Gate(USERS, PASSWORDS), Gate(USERS, PASSWORDS)
    entry_id = _failed_entry(engine)
    page = client(engine, first).get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("otto"))
    answer = client(engine, second).post(f"{MONITOR_PATH}/request/{entry_id}/cancel",
                                          data={"token": _token(page.text)}, headers=_auth("otto"))  # fmt: skip
    assert answer.status_code == 403, "a token from another process (or an earlier run) does not act"


def test_an_open_monitor_shows_everything_and_lets_nobody_act(engine: Engine, client: Client) -> None:
    entry_id = _failed_entry(engine)
    http = client(engine, Gate(MonitorSettings(), {}))
    page = http.get(f"{MONITOR_PATH}/request/{entry_id}")
    assert page.status_code == 200 and "Retry now" not in page.text
    answer = http.post(f"{MONITOR_PATH}/request/{entry_id}/retry", data={"token": "0" * 64})
    assert answer.status_code == 403 and "is a viewer" in answer.text


@pytest.mark.parametrize(
    ("settings", "host", "basic_auth_user", "why"),
    [
        (USERS, "0.0.0.0", "erp-sender", None),
        (MonitorSettings(), "127.0.0.1", None, None),
        (MonitorSettings(), "0.0.0.0", None, "listens on 0.0.0.0 and monitor.users names nobody"),
        (MonitorSettings(), "127.0.0.1", "erp-sender", "asks clients for a password but monitor.users names nobody"),
        (MonitorSettings(enabled=False, users=USERS.users), "127.0.0.1", None, "monitor.enabled is false"),
    ],
)
def test_without_users_the_monitor_is_served_only_to_a_service_nobody_else_reaches(
    settings: MonitorSettings, host: str, basic_auth_user: str | None, why: str | None
) -> None:
    found = why_not_served(settings, host, basic_auth_user)
    assert (found is None) == (why is None) and (why is None or why in (found or ""))


def test_behind_a_proxy_an_action_from_the_public_url_is_accepted_and_one_from_elsewhere_is_not(
    engine: Engine, client: Client
) -> None:
    entry_id = _failed_entry(engine)
    http = client(engine, Gate(USERS, PASSWORDS, "https://gateway.example.com/idocbridge"))
    page = http.get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("otto"))
    for origin, status in (("https://evil.example", 403), ("null", 403), ("https://gateway.example.com", 303)):
        answer = http.post(f"{MONITOR_PATH}/request/{entry_id}/read-status", data={"token": _token(page.text)},
                           headers={**_auth("otto"), "Origin": origin}, follow_redirects=False)  # fmt: skip
        assert answer.status_code == status, origin


def test_a_malformed_page_position_or_a_control_character_shows_the_first_page(engine: Engine, client: Client) -> None:
    _failed_entry(engine)
    http = client(engine, Gate(USERS, PASSWORDS))
    for after in ("2030-01-01|zz", "9999-12-31T23:59:59.999999-23:59|a", "x|y", "2030-01-01T00:00:00+00:00|../"):
        answer = http.post(f"{MONITOR_PATH}/", data={"after": after}, headers=_auth("vera"))
        assert answer.status_code == 200 and answer.text.count('href="/monitor/request/') == 1, after
    answer = http.post(f"{MONITOR_PATH}/", data={"partner": "SHOP\x00SYS\n"}, headers=_auth("vera"))
    assert answer.status_code == 200 and answer.text.count('href="/monitor/request/') == 1


def test_search_finds_by_a_business_key_sent_in_the_body_and_answers_with_the_requests_page(
    engine: Engine, client: Client
) -> None:
    entry_id = _failed_entry(engine, belnr="PO-2026-000417")
    http = client(engine, Gate(USERS, PASSWORDS))
    found = http.post(f"{MONITOR_PATH}/search", data={"q": "PO-2026-000417"}, headers=_auth("vera"),
                        follow_redirects=False)  # fmt: skip
    assert found.status_code == 303 and found.headers["location"] == f"{MONITOR_PATH}/request/{entry_id}"
    missing = http.post(f"{MONITOR_PATH}/search", data={"q": "nothing-like-it"}, headers=_auth("vera"))
    assert missing.status_code == 404 and "Nothing found" in missing.text


def test_the_list_filters_by_partner_from_the_body_and_pages_hold_no_business_data_in_links(
    engine: Engine, client: Client
) -> None:
    _failed_entry(engine, belnr="PO-1")
    http = client(engine, Gate(USERS, PASSWORDS))
    listed = http.post(f"{MONITOR_PATH}/", data={"partner": "SHOPSYS"}, headers=_auth("vera"))
    assert listed.status_code == 200 and "IDOC_INBOUND_ASYNCHRONOUS" not in listed.text
    assert listed.text.count('href="/monitor/request/') == 1, "the one request of partner SHOPSYS"
    hrefs = re.findall(r'href="([^"]+)"', listed.text)
    assert hrefs and not [href for href in hrefs if "SHOPSYS" in href or "PO-1" in href]
    none = http.post(f"{MONITOR_PATH}/", data={"partner": "OTHER"}, headers=_auth("vera"))
    assert "No request matches." in none.text


def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(engine: Engine, client: Client) -> None:
    answer = client(engine, Gate(USERS, PASSWORDS)).get(f"{MONITOR_PATH}/", headers=_auth("vera"))
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]


def test_a_monitor_password_that_cannot_be_read_names_the_user_not_the_value() -> None:
    with pytest.raises(MonitorAccessError, match="monitor user 'vera'") as raised:
        resolve_monitor_passwords(USERS, {"O": "o-secret"})
    assert "o-secret" not in str(raised.value)
    assert resolve_monitor_passwords(USERS, {"V": "v", "O": "o"}) == {"vera": "v", "otto": "o"}


def test_an_address_that_guesses_passwords_waits_and_a_typo_costs_nothing(engine: Engine, client: Client) -> None:
    http = client(engine, Gate(USERS, PASSWORDS))
    wrong = {"Authorization": "Basic " + base64.b64encode(b"vera:guess").decode()}
    assert http.get(f"{MONITOR_PATH}/", headers=wrong).status_code == 401
    assert http.get(f"{MONITOR_PATH}/", headers=_auth("vera")).status_code == 200, "one typo: in at once"
    for _ in range(LOCKOUT_AFTER - 2):
        assert http.get(f"{MONITOR_PATH}/", headers=wrong).status_code == 401
    assert http.get(f"{MONITOR_PATH}/", headers=wrong).status_code == 429, "the tenth wrong logon locks out"
    locked = http.get(f"{MONITOR_PATH}/", headers=_auth("vera"))
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= LOCKOUT_SECONDS + 1
    assert "too many wrong logons" in locked.text


def test_a_retry_and_the_cancel_of_a_queued_entry_wake_the_outbox_worker(
    engine: Engine, serve_app: Callable[..., str]
) -> None:
    """A retry is due at once; a cancelled entry of a qRFC queue lets the next entry of its queue go."""
    wakes: list[str] = []
    gate = Gate(USERS, PASSWORDS)
    context = MonitorContext(engine, OutboxStore(engine), None, gate, lambda: {"ERP": "closed"},
                             wake=lambda: wakes.append("woken"))  # fmt: skip
    with httpx.Client(base_url=serve_app(Starlette(routes=[Mount(MONITOR_PATH, routes=monitor_routes(context))])),
                      timeout=30) as http:  # fmt: skip
        same_site = {**_auth("otto"), "Origin": str(http.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"}

        def act(entry_id: str, action: str) -> None:
            page = http.get(f"{MONITOR_PATH}/request/{entry_id}", headers=_auth("otto"))
            done = http.post(f"{MONITOR_PATH}/request/{entry_id}/{action}", data={"token": _token(page.text)},
                             headers=same_site, follow_redirects=False)  # fmt: skip
            assert done.status_code == 303, done.text

        act(_failed_entry(engine, queue=None, message_id="m-1"), "cancel")
        assert wakes == []  # nothing waits for an entry outside a queue
        act(_failed_entry(engine, queue="Q1", message_id="m-2"), "cancel")
        assert wakes == ["woken"]
        act(_failed_entry(engine, queue=None, message_id="m-3"), "retry")
        assert wakes == ["woken", "woken"]
