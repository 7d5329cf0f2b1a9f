"""IDOC_INBOUND_ASYNCHRONOUS and IDOC_INBOUND_IN_QUEUE: inbound IDocs get a DOCNUM and status records,
stored with their TID.

IDOC_INBOUND_IN_QUEUE is the qRFC (EOIO) entry: it runs only in a queue (QNAME, if given, names that
queue), takes its data records in IDOC_DATA_QUEUE, and otherwise does what IDOC_INBOUND_ASYNCHRONOUS
does; the queue's calls, and so their IDocs' DOCNUMs, follow the order the calls arrived in.

Each control record becomes one IDoc with the next 16-digit DOCNUM and status 50. Then:

- 56 (IDoc with errors added) when the control record is unusable: not inbound (DIRECT 2), no
  message type, no sender or receiver partner, or a basic type (or extension) the system does not know;
- 60 (syntax error) for each problem the IDoc type's metadata finds in the data records;
- otherwise 64 (ready to be passed), 62 (passed to application) and 53 (application document posted),
  or 51 (not posted) when a ``posting_error`` fault is armed for the message type.

With ``idocProcessing: {mode: background}`` the call leaves a valid IDoc at 64, and the simulator posts
it later (:mod:`idocbridge.sapsim.idoc_processing`) with :func:`post_idoc`, as SAP's RBDAPP01 does.
Every status record is written for the calling user (EDIDS-UNAME).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from idocbridge.idoc.validation import validate_idoc
from idocbridge.sapsim.faults import FaultPlan
from idocbridge.sapsim.functions import AbapError, CallContext, Parameter, function_module
from idocbridge.sapsim.rfc import ddic
from idocbridge.sapsim.store import SimulatorStore

__all__ = ["MAX_STATUS_RECORDS", "READY", "post_idoc"]

READY = "64"
"""Status of an IDoc that is ready to be passed to its application (and, in background mode, waits)."""

MAX_STATUS_RECORDS = 20
"""At most this many status 60 records per IDoc; the last one says how many more problems there were."""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _group(controls: list[dict[str, Any]], data: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The data records of each control record: all of them for one IDoc, else matched by DOCNUM."""
    if len(controls) == 1:
        return [data]
    groups: dict[str, list[dict[str, Any]]] = {_text(c.get("DOCNUM")).strip(): [] for c in controls}
    if "" in groups or len(groups) != len(controls):
        raise AbapError("DOCNUM_NOT_UNIQUE", "several control records need distinct DOCNUM values to own their data")
    for number, record in enumerate(data, start=1):
        owner = _text(record.get("DOCNUM")).strip()
        if owner not in groups:
            raise AbapError(
                "DATA_WITHOUT_CONTROL_RECORD",
                f"data record {number} names DOCNUM '{owner}', which no control record has",
            )
        groups[owner].append(record)
    return [groups[_text(c.get("DOCNUM")).strip()] for c in controls]


def _control_problems(context: CallContext, control: dict[str, Any]) -> list[str]:
    problems = []
    if _text(control.get("DIRECT")).strip() != "2":
        problems.append("control record: DIRECT must be 2 (inbound)")
    if not _text(control.get("MESTYP")).strip():
        problems.append("control record: no message type (MESTYP)")
    for field, role in (("SNDPRN", "sender"), ("RCVPRN", "receiver")):
        if not _text(control.get(field)).strip():
            problems.append(f"control record: no {role} partner ({field}); no partner profile can be found")
    for field, what in (("IDOCTYP", "basic type"), ("CIMTYP", "extension")):
        name = _text(control.get(field)).strip()
        if field == "IDOCTYP" and not name:
            problems.append("control record: no basic type (IDOCTYP)")
        elif name and name not in context.idoc_types:
            problems.append(f"control record: {what} {name} does not exist in this system")
    return problems


@cache
def _widths(structure: str) -> dict[str, int]:
    """Characters of each field of a record structure (EDI_DC40, EDI_DD40)."""
    return {field.name: field.scalar.leng if field.scalar else 0 for field in ddic.layout(structure).fields}


def _fields(record: dict[str, Any], structure: str) -> dict[str, str]:
    """The record's fields of ``structure`` as text: a field the structure does not have is left out, as
    SAP's fast serialisation leaves out fields only one side knows, so a client cannot make it store more."""
    widths = _widths(structure)
    return {key: _text(value) for key, value in record.items() if key in widths}


def _fit(record: dict[str, str], structure: str) -> dict[str, str]:
    """The record as SAP stores it: each field cut to its width (EDIDC, EDID4 hold no more)."""
    widths = _widths(structure)
    return {key: value[: widths[key]] for key, value in record.items()}


def _store_one(context: CallContext, control: dict[str, Any], data: list[dict[str, Any]]) -> str:
    store = context.store
    docnum = store.next_docnum()
    stored_control = _fit(_fields(control, "EDI_DC40"), "EDI_DC40")
    stored_control |= {"DOCNUM": docnum, "MANDT": context.client}
    received, stored_data = [], []
    for number, record in enumerate(data, start=1):
        row = _fields(record, "EDI_DD40")
        row |= {"DOCNUM": docnum, "MANDT": context.client}
        given = row.get("SEGNUM", "").strip()
        # An initial SEGNUM (blank, or zeros as NUMC travels over RFC) is numbered in order.
        row["SEGNUM"] = given.zfill(6) if given.strip("0") else f"{number:06d}"
        received.append(row)
        stored_data.append(_fit(row, "EDI_DD40"))
    user = context.user
    store.add_idoc(docnum, context.tid, context.client, stored_control, stored_data)
    store.add_status(docnum, "50", "IDoc added", user)
    problems = _control_problems(context, stored_control)
    if problems:
        for problem in problems:
            store.add_status(docnum, "56", problem, user)
        return docnum
    idoc_type = context.idoc_types.get(stored_control["IDOCTYP"].strip())
    syntax = [problem.message for problem in validate_idoc(idoc_type, received)]  # as sent: SDATA too long
    if syntax:
        for message in syntax[: MAX_STATUS_RECORDS - 1]:
            store.add_status(docnum, "60", message, user)
        if len(syntax) >= MAX_STATUS_RECORDS:
            store.add_status(docnum, "60", f"{len(syntax) - MAX_STATUS_RECORDS + 1} more syntax errors", user)
        return docnum
    store.add_status(docnum, READY, "IDoc ready to be transferred to application", user)
    if context.config.idoc_processing.mode == "immediate":
        post_idoc(store, context.faults, docnum, stored_control.get("MESTYP", "").strip(), user)
    return docnum


def post_idoc(store: SimulatorStore, faults: FaultPlan, docnum: str, message_type: str, user: str) -> str:
    """Pass a ready IDoc (64) to its application: 62, then 53 (posted), or 51 (not posted) when a
    ``posting_error`` fault is armed for its message type. Returns the IDoc's new status."""
    store.add_status(docnum, "62", "IDoc passed to application", user)
    fault = faults.take("posting_error", message_type or None)
    if fault is not None:
        store.add_status(docnum, "51", fault.message or "Application document not posted (fault injection)", user)
        return "51"
    store.add_status(docnum, "53", "Application document posted", user)
    return "53"


@function_module(
    "IDOC_INBOUND_ASYNCHRONOUS",
    parameters=[Parameter("T", "IDOC_CONTROL_REC_40", "EDI_DC40"), Parameter("T", "IDOC_DATA_REC_40", "EDI_DD40")],
    text="Inbound IDocs: control records and data records (release 4.0 and later)",
)
def idoc_inbound_asynchronous(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _store_all(context, list(params.get("IDOC_CONTROL_REC_40") or []), list(params.get("IDOC_DATA_REC_40") or []))
    return {}


def _store_all(context: CallContext, controls: list[dict[str, Any]], data: list[dict[str, Any]]) -> None:
    groups = _group(controls, data)
    for control in controls:  # all or nothing: a refused IDoc refuses the call before anything is stored
        message_type = _text(control.get("MESTYP")).strip()
        fault = context.faults.take("refuse_idoc", message_type or None)
        if fault is not None:
            key = fault.key or "IDOC_REFUSED"
            raise AbapError(key, fault.message or f"the inbound IDoc of message type {message_type} is refused")
    for control, records in zip(controls, groups, strict=True):
        _store_one(context, control, records)


@function_module(
    "IDOC_INBOUND_IN_QUEUE",
    parameters=[
        Parameter("I", "QNAME", "CHAR(24)", optional=True, text="the qRFC queue name"),
        Parameter("T", "IDOC_CONTROL_REC_40", "EDI_DC40"),
        Parameter("T", "IDOC_DATA_QUEUE", "EDI_DD40"),
    ],
    text="Inbound IDocs in a qRFC queue (exactly once, in order): control records and data records",
)
def idoc_inbound_in_queue(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    if context.queue is None:
        raise AbapError(
            "NO_QUEUE",
            "IDOC_INBOUND_IN_QUEUE runs in a qRFC queue (EOIO): send it with a queue name, not as plain tRFC",
        )
    name = _text(params.get("QNAME")).strip()
    if name and name != context.queue:
        shown = name[:24] + ("..." if len(name) > 24 else "")  # QNAME is CHAR 24
        raise AbapError("QUEUE_NAME_MISMATCH", f"QNAME {shown} is not the queue {context.queue} the call came in")
    _store_all(context, list(params.get("IDOC_CONTROL_REC_40") or []), list(params.get("IDOC_DATA_QUEUE") or []))
    return {}
