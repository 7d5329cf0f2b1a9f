"""One logged-on RFC session: each call's TLV stream in, its reply's TLV stream out.

Metadata lookups (RFC_GET_FUNCTION_INTERFACE, DDIF_FIELDINFO_GET, RFC_GET_STRUCTURE_DEFINITION)
and RFCPING are answered by the protocol layer; tRFC's system functions map onto the engine's
durable TID table; every other function runs through :meth:`Engine.call`, with the user's
allowlist. The fault plan applies to every call except metadata lookups: communication errors and
drops close the connection (:class:`Drop`), delays wait, ABAP exceptions come back as such.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idocbridge.connectors.errors import ABAPApplicationError, ConnectorError
from idocbridge.sapsim.engine import MAX_FUNCTION_NAME, Engine, Session
from idocbridge.sapsim.functions import AbapError
from idocbridge.sapsim.rfc import metadata
from idocbridge.sapsim.rfc.codec import (
    CallError,
    Request,
    abap_exception,
    decode_parameters,
    parse_request,
    success,
    system_failure,
)
from idocbridge.sapsim.rfc.trfc import tid_of_confirm, unit_of

__all__ = ["UNKNOWN_FUNCTION", "Drop", "Reply", "RfcSession"]

log = logging.getLogger("idocbridge.sapsim.rfc")

UNKNOWN_FUNCTION = "(unknown)"
"""How a call of a function the simulator does not know counts (``rfc:cpic:(unknown)``): one counter for all
such names, so that a client cannot make the simulator store one row per name it makes up."""
_CONFIRMS = frozenset({"API_CLEAR_TID", "ARFC_DEST_CONFIRM"})
_LOOKUPS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "RFC_GET_FUNCTION_INTERFACE": (metadata.function_interface, "SAPLRFC1"),
    "DDIF_FIELDINFO_GET": (metadata.field_info, "SAPLSDIFRUNTIME"),
    "RFC_GET_STRUCTURE_DEFINITION": (metadata.structure_definition, "SAPLRFC1"),
}


@dataclass(frozen=True)
class Reply:
    """A reply's TLV stream; ``one_frame``: send it unsplit, however long.

    Metadata replies go in one frame: saprfclib 0.1.8 reads its lookups' replies from a single
    frame, and both clients took a 49 KB DDIF_FIELDINFO_GET reply in one frame. SAP itself keeps
    them short by compressing tables, which the simulator does not do.
    """

    tlv: bytes
    one_frame: bool = False


class Drop(Exception):
    """Close the connection now, without a reply (a fault: to the client, the network broke)."""


class RfcSession:
    """Calls of one logged-on user over one connection; ``transport`` names the wire (``cpic``)."""

    def __init__(self, engine: Engine, session: Session, transport: str) -> None:
        self.engine = engine
        self.session = session
        self.transport = transport

    async def handle(self, tlv: bytes) -> Reply:
        """The reply to one call, once what the call changed is on disk; raises :class:`Drop` when a fault breaks
        the connection."""
        return await self.engine.commits.answered(self._answer(tlv), Drop)

    async def _answer(self, tlv: bytes) -> Reply:
        request = parse_request(tlv)  # a malformed stream (ProtocolError) closes the connection
        function = request.function
        if len(function) > MAX_FUNCTION_NAME:  # no function has such a name: nothing is counted or stored
            return Reply(system_failure("CALL_FUNCTION_NOT_FOUND", f"a function name has at most {MAX_FUNCTION_NAME} "
                                        f"characters, not {len(function)}"))  # fmt: skip
        self._record(function if metadata.interface_of(function) is not None else UNKNOWN_FUNCTION)
        try:
            if function in _LOOKUPS:
                lookup, program = _LOOKUPS[function]
                parameters = metadata.PROTOCOL_INTERFACES[function]
                result = lookup(decode_parameters(request, parameters))
                return Reply(success(parameters, result, program), one_frame=True)
            return Reply(await self._call(request))
        except metadata.LookupFailed as exc:
            reply = abap_exception(
                exc.key, exc.message, message_class=exc.message_class, number=exc.number, variables=exc.variables
            )
        except AbapError as exc:
            reply = abap_exception(exc.key, exc.message)
        except ABAPApplicationError as exc:
            reply = abap_exception(exc.key, exc.message)
        except (ConnectorError, CallError) as exc:
            reply = system_failure(exc.key, exc.message)
        except metadata.UndescribableError as exc:
            reply = system_failure("RFC_NOT_SUPPORTED", f"{function} cannot be called over RFC: {exc}")
        except Drop:
            raise
        except Exception as exc:  # e.g. a result that does not fit its parameter: a short dump, not a hang-up
            log.exception("RFC call of %s failed", function)
            reply = system_failure("SYSTEM_FAILURE", f"short dump in {function}: {type(exc).__name__}: {exc}")
        return Reply(reply)

    def _record(self, function: str) -> None:
        with self.engine.store.transaction():
            self.engine.store.next_counter(f"rfc:{self.transport}:{function}")

    async def _call(self, request: Request) -> bytes:
        function, engine, session, faults = request.function, self.engine, self.session, self.engine.faults
        parameters = metadata.interface_of(function)
        if parameters is None:
            raise CallError("CALL_FUNCTION_NOT_FOUND", f"function module {function} does not exist")
        params = decode_parameters(request, parameters)
        unit = unit_of(request) if function == "ARFC_DEST_SHIP" else None
        target = unit.function if unit is not None else function  # faults aim at the shipped function
        if faults.take("communication_error", target) is not None:
            raise Drop
        if function in _CONFIRMS and engine.confirm_dropped(tid_of_confirm(function, params)):
            raise Drop  # the TID is not forgotten, and the caller cannot know

        async def before() -> None:
            if faults.take("drop_before", target) is not None:
                raise Drop
            delay = faults.take("delay", target)
            if delay is not None:
                await asyncio.sleep(delay.seconds)

        result: dict[str, Any] = {}
        if unit is not None:
            await engine.submit(session, unit.tid, unit.function, unit.params, unit.queue, before)
        else:
            await before()
            result = self._run(function, params)
        if faults.take("drop_after", target) is not None:
            raise Drop  # it ran and committed; the reply is lost
        return success(parameters, result, "SAPLSYSU")

    def _run(self, function: str, params: dict[str, Any]) -> dict[str, Any]:
        engine, session = self.engine, self.session
        if function == "RFCPING":
            return {}
        if function == "API_CREATE_TID":
            return {"TID": engine.new_tid()}
        if function in _CONFIRMS:
            engine.confirm(session, tid_of_confirm(function, params))
            return {}
        return engine.call(session, function, params)
