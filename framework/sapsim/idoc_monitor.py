"""Which inbound IDocs a tRFC TID created, and how they stand: INBOUND_IDOCS_FOR_TID,
GET_STATUS_FROM_IDOCNR and IDOC_READ_COMPLETELY.

Microsoft's SAP connector needs INBOUND_IDOCS_FOR_TID, OUTBOUND_IDOCS_FOR_TID, GET_STATUS_FROM_IDOCNR
and IDOC_RECORD_READ for its actions "Get IDoc list for transaction" (TID -> IDoc numbers) and "Get
IDoc status" (IDoc number -> status code). No public source gives the exact parameters of
INBOUND_IDOCS_FOR_TID and GET_STATUS_FROM_IDOCNR; the simulator's were chosen as follows (an ABAP call
of GET_STATUS_FROM_IDOCNR shows ``EXPORTING idocnr = ... IMPORTING status = ...``):

- INBOUND_IDOCS_FOR_TID: IMPORTING TID (CHAR 24); TABLES IDOC_NUMBERS, rows of the simulator's own
  structure ZSIM_IDOC_NUMBER (DOCNUM, NUMC 16), in DOCNUM order. An unknown TID gives no rows.
- GET_STATUS_FROM_IDOCNR: IMPORTING IDOCNR (NUMC 16; leading zeros may be left out); EXPORTING STATUS
  (CHAR 2), the IDoc's latest status, blank for an IDoc that does not exist.

IDOC_READ_COMPLETELY has SAP's documented interface: IMPORTING DOCUMENT_NUMBER (EDI_DOCNUM); EXPORTING
IDOC_CONTROL (EDIDC), NUMBER_OF_DATA_RECORDS and NUMBER_OF_STATUS_RECORDS (INT4); TABLES INT_EDIDS
(EDIDS) and INT_EDIDD (EDIDD); exceptions DOCUMENT_NOT_EXIST and DOCUMENT_NUMBER_INVALID.

A user sees the IDocs of the client it is logged on to. Dates and times are the system's, which is UTC
(RFC_SYSTEM_INFO's time zone offset is 0).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from idocbridge.sapsim.functions import AbapError, CallContext, Parameter, function_module
from idocbridge.sapsim.store import IDocRecord, StatusRecord

__all__ = ["IDOC_NUMBER_STRUCTURE", "docnum_of", "status_text"]

IDOC_NUMBER_STRUCTURE = "ZSIM_IDOC_NUMBER"
"""The row of INBOUND_IDOCS_FOR_TID's IDOC_NUMBERS: the simulator's own name (SAP's is not documented)."""

STATXT_WIDTH = 70
STAPA_WIDTH = 50
STAPA_COUNT = 4
_ERRORS = frozenset({"51", "56", "60"})
"""Statuses whose records are error messages (STATYP E)."""
_SUCCESS = frozenset({"53"})
_SAD = (("SAD", 10), ("SMN", 3), ("SNA", 1), ("SCA", 3), ("SDF", 1), ("SLF", 3))
"""EDI_DC40's SNDSAD and RCVSAD (CHAR 21) hold EDIDC's six SADR fields, in this order and width."""
_DC40_TO_EDIDC = (
    "DIRECT", "RCVPOR", "RCVPRT", "RCVPRN", "RCVLAD", "STD", "STDVRS", "STDMES", "MESCOD", "MESFCT", "OUTMOD",
    "TEST", "SNDPOR", "SNDPRT", "SNDPRN", "SNDLAD", "REFINT", "REFGRP", "REFMES", "ARCKEY", "MESTYP", "CIMTYP",
    "RCVPFC", "SNDPFC", "SERIAL", "EXPRSS",
)  # fmt: skip
"""Control record fields EDIDC has under the same name as EDI_DC40 (IDOCTYP is EDIDC's IDOCTP)."""


def docnum_of(value: object) -> str | None:
    """An IDoc number as EDI_DOCNUM (16 digits, leading zeros added), or None if ``value`` is not one.
    An initial number (only zeros) is not one either."""
    text = "" if value is None else str(value).strip()
    if not re.fullmatch("[0-9]{1,16}", text) or not text.strip("0"):
        return None
    return text.zfill(16)


def _numc(value: object, width: int) -> str:
    """``value`` as NUMC of ``width`` digits; anything that is not digits is initial (zeros)."""
    text = "" if value is None else str(value).strip()
    return text.zfill(width) if re.fullmatch(f"[0-9]{{1,{width}}}", text) else "0" * width


def _date_time(at: str) -> tuple[str, str]:
    """DATS and TIMS of a stored time (UTC, ISO 8601), in the system's time zone (UTC)."""
    moment = dt.datetime.fromisoformat(at)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y%m%d"), moment.strftime("%H%M%S")


def _pieces(text: str) -> list[str]:
    """``text`` in at most four pieces of at most 50 characters, none ending in a blank (RFC drops
    trailing blanks of CHAR fields); runs of blanks become one, and a text beyond 196 characters is cut."""
    words = " ".join(text.split())
    limit = STAPA_COUNT * (STAPA_WIDTH - 1)
    if len(words) > limit:
        words = words[: limit - 3].rstrip() + "..."
    pieces: list[str] = []
    while words:
        cut = min(STAPA_WIDTH, len(words))
        if cut < len(words) and words[cut - 1] == " ":
            cut -= 1
        pieces.append(words[:cut])
        words = words[cut:]
    return pieces


def status_text(text: str) -> dict[str, str]:
    """A status text as EDIDS holds it: in STATXT when it fits (70 characters, no ``&``); otherwise in
    STAPA1..STAPA4, with STATXT one ``&`` per piece, SAP's placeholders, filled in order."""
    text = text.rstrip()
    if len(text) <= STATXT_WIDTH and "&" not in text:
        return {"STATXT": text}
    pieces = _pieces(text)
    return {"STATXT": "&" * len(pieces)} | {f"STAPA{number}": piece for number, piece in enumerate(pieces, 1)}


def _statyp(status: str) -> str:
    return "E" if status in _ERRORS else "S" if status in _SUCCESS else "I"


def _status_row(record: IDocRecord, counter: int, status: StatusRecord) -> dict[str, Any]:
    date, time = _date_time(status.at)
    row: dict[str, Any] = {
        "MANDT": record.client,
        "DOCNUM": record.docnum,
        "LOGDAT": date,
        "LOGTIM": time,
        "COUNTR": f"{counter:016d}",
        "CREDAT": date,
        "CRETIM": time,
        "STATUS": status.status,
        "UNAME": status.uname[:12],
        "SEGNUM": "000000",
        "STATYP": _statyp(status.status),
        "STAMNO": "000",
        "TID": record.tid or "",
    }
    return row | status_text(status.text)


def _control(context: CallContext, record: IDocRecord) -> dict[str, Any]:
    """EDIDC: the stored control record (EDI_DC40) with what the system set: number, release, status,
    creation and last change (the latest status record), number of data records."""
    stored = {key: str(value or "") for key, value in record.control.items()}
    created = _date_time(record.created_at)
    updated = _date_time(record.statuses[-1].at) if record.statuses else created
    control: dict[str, Any] = {name: stored.get(name, "") for name in _DC40_TO_EDIDC}
    for side in ("SND", "RCV"):
        address, offset = stored.get(f"{side}SAD", ""), 0
        for suffix, width in _SAD:
            control[f"{side}{suffix}"] = address[offset : offset + width]
            offset += width
    return control | {
        "MANDT": record.client,
        "DOCNUM": record.docnum,
        "DOCREL": context.config.release[:4],
        "STATUS": record.status,
        "IDOCTP": stored.get("IDOCTYP", ""),
        "CREDAT": created[0],
        "CRETIM": created[1],
        "UPDDAT": updated[0],
        "UPDTIM": updated[1],
        "MAXSEGNUM": f"{min(len(record.data), 999999):06d}",
    }


def _data_row(record: IDocRecord, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "MANDT": record.client,
        "DOCNUM": record.docnum,
        "SEGNUM": _numc(data.get("SEGNUM"), 6),
        "SEGNAM": str(data.get("SEGNAM") or ""),
        "PSGNUM": _numc(data.get("PSGNUM"), 6),
        "HLEVEL": _numc(data.get("HLEVEL"), 2),
        "DTINT2": 0,
        "SDATA": str(data.get("SDATA") or ""),
    }


def _own_idoc(context: CallContext, docnum: str) -> IDocRecord | None:
    """The IDoc ``docnum`` of the caller's client, or None."""
    record = context.store.idoc(docnum)
    return record if record is not None and record.client == context.client else None


@function_module(
    "INBOUND_IDOCS_FOR_TID",
    parameters=[
        Parameter("I", "TID", "CHAR(24)", text="the tRFC transaction ID (ARFCTID) of the inbound call"),
        Parameter("T", "IDOC_NUMBERS", IDOC_NUMBER_STRUCTURE, text="the IDocs the call created, in DOCNUM order"),
    ],
    text="The inbound IDocs a tRFC transaction (TID) created",
)
def inbound_idocs_for_tid(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tid = str(params.get("TID") or "").strip()
    records = context.store.idocs(tid=tid) if tid else []
    return {"IDOC_NUMBERS": [{"DOCNUM": r.docnum} for r in records if r.client == context.client]}


@function_module(
    "GET_STATUS_FROM_IDOCNR",
    parameters=[
        Parameter("I", "IDOCNR", "NUMC(16)", text="the IDoc number"),
        Parameter("E", "STATUS", "CHAR(2)", text="the IDoc's latest status; blank if there is no such IDoc"),
    ],
    text="The latest status of an IDoc",
)
def get_status_from_idocnr(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    docnum = docnum_of(params.get("IDOCNR"))
    record = _own_idoc(context, docnum) if docnum is not None else None
    return {"STATUS": record.status if record is not None else ""}


@function_module(
    "IDOC_READ_COMPLETELY",
    parameters=[
        Parameter("I", "DOCUMENT_NUMBER", "NUMC(16)", text="IDoc number"),
        Parameter("E", "IDOC_CONTROL", "EDIDC", text="control record"),
        Parameter("E", "NUMBER_OF_DATA_RECORDS", "INT4", text="number of data records"),
        Parameter("E", "NUMBER_OF_STATUS_RECORDS", "INT4", text="number of status records"),
        Parameter("T", "INT_EDIDS", "EDIDS", text="status records, oldest first"),
        Parameter("T", "INT_EDIDD", "EDIDD", text="data records, in order"),
    ],
    text="Reads an IDoc: control record, data records and status records",
)
def idoc_read_completely(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    given = params.get("DOCUMENT_NUMBER")
    docnum = docnum_of(given)
    if docnum is None:
        shown = str(given if given is not None else "").strip()[:16]
        raise AbapError("DOCUMENT_NUMBER_INVALID", f"'{shown}' is not an IDoc number")
    record = _own_idoc(context, docnum)
    if record is None:
        raise AbapError("DOCUMENT_NOT_EXIST", f"IDoc {docnum} does not exist")
    return {
        "IDOC_CONTROL": _control(context, record),
        "NUMBER_OF_DATA_RECORDS": len(record.data),
        "NUMBER_OF_STATUS_RECORDS": len(record.statuses),
        "INT_EDIDS": [_status_row(record, n, status) for n, status in enumerate(record.statuses, start=1)],
        "INT_EDIDD": [_data_row(record, data) for data in record.data],
    }
