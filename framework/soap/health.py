"""``/health/live`` and ``/health/ready``: what Kubernetes probes and load balancers ask.

- ``GET /health/live`` answers 200 ``{"status": "ok"}`` while the process serves requests at all (the event
  loop answers); ``/health`` is the same, as before.
- ``GET /health/ready`` answers 200 when the service can take requests, else 503, with each check:
  ``{"status": "ok" | "fail", "checks": {"database": {...}, "migrations": {...}, "sap": {...}}}``:

  - ``database``: a write transaction can be opened on the runtime database (an update that matches no
    row: on SQLite it takes the write lock, on PostgreSQL it fails on a read-only server), within 5 s;
  - ``migrations``: the database is at the package's newest migration (``idocbridge db`` ... upgrades it);
  - ``sap``: per alias, ``closed`` or ``open``: the alias's circuit, which opens after repeated failures to
    reach SAP. It does not make the service unready: requests delivered through the outbox are still taken
    and wait for SAP. The probe never calls SAP itself (probes come every few seconds).

Nothing of the model's secrets or addresses is in the answer: alias names and states only. Error texts name
what failed, without the database's URL.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, false, update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idocbridge.db.engine import begin_write
from idocbridge.db.migrate import current_revision, head_revision
from idocbridge.soap.deployment import Deployment
from idocbridge.soap.single_flight import SingleFlight
from idocbridge.transactions.tables import outbox_table

__all__ = ["Health"]

log = logging.getLogger("idocbridge.soap")
_CHECK_SECONDS = 5.0


class Health:
    """The health endpoints of one served deployment. The database checks run on a thread of their own, not
    on the request threads (a service busy with slow SAP calls is still ready), one check at a time: probes
    that come while one runs wait for its answer."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._checks = SingleFlight(self._database_checks, "idocbridge-health")

    async def live(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})  # nothing of the model: it answers anyone

    async def ready(self, request: Request) -> Response:
        try:
            checks = dict(await self._checks.result(_CHECK_SECONDS))
        except TimeoutError:
            checks = {"database": {"status": "fail", "reason": f"no write transaction within {_CHECK_SECONDS:g} s"}}
        checks["sap"] = self._sap()
        ready = all(check["status"] == "ok" for name, check in checks.items() if name != "sap")
        return JSONResponse({"status": "ok" if ready else "fail", "checks": checks}, status_code=200 if ready else 503)

    def _database_checks(self) -> dict[str, Any]:
        engine = self._deployment.engine
        if engine is None:
            return {"database": {"status": "fail", "reason": "the service has no runtime database"}}
        return {"database": _writable(engine), "migrations": _migrated(engine)}

    def _sap(self) -> dict[str, Any]:
        circuits = self._deployment.outbox.worker.deliverer.circuits
        aliases = {alias.name: ("open" if circuits.is_open(alias.name) else "closed")
                   for alias in self._deployment.model.aliases}  # fmt: skip
        return {"status": "ok", "circuits": aliases}


def _writable(engine: Engine) -> dict[str, Any]:
    try:
        with begin_write(engine) as connection:
            connection.execute(update(outbox_table).where(false()).values(state=outbox_table.c.state))
    except Exception as exc:
        log.warning("readiness: the runtime database cannot be written", exc_info=True)
        return {"status": "fail", "reason": f"no write transaction: {type(exc).__name__}"}
    return {"status": "ok"}


def _migrated(engine: Engine) -> dict[str, Any]:
    try:
        current, head = current_revision(engine), head_revision()
    except Exception as exc:
        log.warning("readiness: the database's migration cannot be read", exc_info=True)
        return {"status": "fail", "reason": f"the migration cannot be read: {type(exc).__name__}"}
    if current != head:
        return {"status": "fail", "reason": f"the database is at migration {current}, the package at {head}",
                "current": current, "head": head}  # fmt: skip
    return {"status": "ok", "current": current}
