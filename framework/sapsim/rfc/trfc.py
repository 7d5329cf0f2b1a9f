"""tRFC and qRFC as the NW RFC SDK speaks it: API_CREATE_TID, ARFC_DEST_SHIP, API_CLEAR_TID, ARFC_DEST_CONFIRM.

A unit travels in one ARFC_DEST_SHIP call: table STATE (ARFCSSTATE) names the TID, the destination
(``EXTERNAL`` for tRFC, the queue name for qRFC) and the function; table DATA (ARFCSDATA) carries
the serialised call: after a 132-byte row header, the call's TLV records (0502, 0102 function,
0201/0203 values, 0301 tables), continued over rows in ARFCBLCNT order (00000001 to n, every row's
ARFCLEN saying n: observed for one row, assumed for more). A ship without STATE and
DATA carries no call (saprfclib 0.1.8 sends such units): it is refused and nothing is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saprfclib import codec
from saprfclib.types import FieldDesc

from idocbridge.sapsim.functions import AbapError
from idocbridge.sapsim.rfc import ddic
from idocbridge.sapsim.rfc.codec import CallError, Request, decode_parameters, parse_request
from idocbridge.sapsim.rfc.metadata import interface_of
from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = ["Unit", "tid_of_confirm", "unit_of"]

_DATA_HEADER = 132
"""Bytes of an ARFCSDATA row before the serialised call: TID, destination, block counter, 4 bytes."""
_TRFC_DESTINATION = "EXTERNAL"


@dataclass(frozen=True)
class Unit:
    """The one call of a shipped unit, decoded against the function's interface."""

    tid: str
    function: str
    queue: str | None
    params: dict[str, Any]


def _row_descriptor(structure: str) -> FieldDesc:
    layout = ddic.layout(structure)
    size = layout.uc_size
    return FieldDesc(structure, codec.RFCTYPE_STRUCTURE, size, 0, size, 0, 0, type_desc=layout.type_desc())


def _decode_row(structure: str, row: bytes) -> dict[str, Any]:
    descriptor = _row_descriptor(structure)
    if len(row) < descriptor.uc_length:
        raise CallError("RFC_INVALID_PARAMETER", f"an {structure} row has {len(row)} bytes, not {descriptor.uc_length}")
    decoded: dict[str, Any] = codec.decode(codec.RFCTYPE_STRUCTURE, row[: descriptor.uc_length], descriptor)
    return decoded


def _tid(row: dict[str, Any]) -> str:
    return "".join(str(row.get(name, "")) for name in ("ARFCIPID", "ARFCPID", "ARFCTIME", "ARFCTIDCNT"))


def unit_of(request: Request) -> Unit:
    """The unit an ARFC_DEST_SHIP request carries; AbapError UNIT_WITHOUT_CALL when it carries none."""
    states, blocks = request.tables.get("STATE") or [], request.tables.get("DATA") or []
    if not states or not blocks:
        raise AbapError(
            "UNIT_WITHOUT_CALL",
            "ARFC_DEST_SHIP without tables STATE and DATA: the unit carries no call; nothing was executed",
        )
    if len(states) > 1:
        raise CallError("RFC_NOT_SUPPORTED", f"a unit of {len(states)} calls: the simulator executes one call per TID")
    state = _decode_row("ARFCSSTATE", states[0])
    tid, function = _tid(state), str(state.get("ARFCFNAM", "")).strip().upper()
    destination = str(state.get("ARFCDEST", "")).strip()
    decoded = [(_decode_row("ARFCSDATA", row), row) for row in blocks if len(row) > _DATA_HEADER]
    ordered = sorted(decoded, key=lambda block: str(block[0].get("ARFCBLCNT", "")))
    if any(_tid(block) != tid for block, _ in ordered):
        raise CallError("RFC_INVALID_PARAMETER", f"a DATA row of unit {tid} belongs to another TID")
    numbers = [str(block.get("ARFCBLCNT", "")).strip() for block, _ in ordered]
    if numbers != [f"{n:08d}" for n in range(1, len(ordered) + 1)]:
        raise CallError("RFC_INVALID_PARAMETER", f"the DATA rows of unit {tid} are not numbered 1 to {len(ordered)}")
    if any(bytes(block.get("ARFCLEN") or b"") != len(ordered).to_bytes(4, "big") for block, _ in ordered):
        raise CallError("RFC_INVALID_PARAMETER", f"the DATA rows of unit {tid} do not all say ARFCLEN {len(ordered)}")
    serialised = b"".join(row[_DATA_HEADER:] for _, row in ordered)
    try:
        call = parse_request(serialised)
    except ProtocolError as exc:
        raise CallError("RFC_CONVERSION_FAILURE", f"the call of unit {tid} cannot be read: {exc}") from exc
    if call.function != function:
        raise CallError("RFC_INVALID_PARAMETER", f"unit {tid}: STATE names {function}, DATA calls {call.function}")
    parameters = interface_of(function)
    if parameters is None:
        raise CallError("CALL_FUNCTION_NOT_FOUND", f"function module {function} does not exist")
    queue = None if destination in ("", _TRFC_DESTINATION) else destination
    return Unit(tid, function, queue, decode_parameters(call, parameters))


def tid_of_confirm(function: str, params: dict[str, Any]) -> str:
    """The TID API_CLEAR_TID (RAW: the TID in UTF-16LE) or ARFC_DEST_CONFIRM (text) confirms."""
    if function == "API_CLEAR_TID":
        raw = bytes(params.get("TID") or b"")
        return raw.decode("utf-16-le", errors="replace").strip(" \x00")
    return str(params.get("TID") or params.get("ARFCTID") or "").strip()
