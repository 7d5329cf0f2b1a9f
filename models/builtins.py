"""Types and functions every model knows without declaring them.

EDI_DC40 (control record, 524 characters) and EDI_DD40 (data record, 1063 characters) follow SAP's
layouts field by field (SAP-FACTS §4); a test sums the widths. IDOC_INBOUND_ASYNCHRONOUS,
IDOC_INBOUND_IN_QUEUE (its qRFC twin: exactly once in order, in the queue a tRFC call step names) and
STFC_CONNECTION are the interfaces of the SAP function modules of the same names.
"""

from __future__ import annotations

from functools import cache

from idocbridge.models.datatypes import Field, Structure
from idocbridge.models.functions import FunctionInterface

__all__ = ["EDI_DC40_LAYOUT", "EDI_DD40_LAYOUT", "IDOC_RECORDS", "builtin_functions", "builtin_structures"]

IDOC_RECORDS = "IDocRecords"
"""The request structure of an operation with an ``idoc`` input: controlRecord and dataRecords."""

EDI_DC40_LAYOUT: tuple[tuple[str, int], ...] = (
    ("TABNAM", 10), ("MANDT", 3), ("DOCNUM", 16), ("DOCREL", 4), ("STATUS", 2), ("DIRECT", 1),
    ("OUTMOD", 1), ("EXPRSS", 1), ("TEST", 1), ("IDOCTYP", 30), ("CIMTYP", 30), ("MESTYP", 30),
    ("MESCOD", 3), ("MESFCT", 3), ("STD", 1), ("STDVRS", 6), ("STDMES", 6), ("SNDPOR", 10),
    ("SNDPRT", 2), ("SNDPFC", 2), ("SNDPRN", 10), ("SNDSAD", 21), ("SNDLAD", 70), ("RCVPOR", 10),
    ("RCVPRT", 2), ("RCVPFC", 2), ("RCVPRN", 10), ("RCVSAD", 21), ("RCVLAD", 70), ("CREDAT", 8),
    ("CRETIM", 6), ("REFINT", 14), ("REFGRP", 14), ("REFMES", 14), ("ARCKEY", 70), ("SERIAL", 20),
)  # fmt: skip
"""Field names and widths of the IDoc control record, in order."""

EDI_DD40_LAYOUT: tuple[tuple[str, int], ...] = (
    ("SEGNAM", 30), ("MANDT", 3), ("DOCNUM", 16), ("SEGNUM", 6), ("PSGNUM", 6), ("HLEVEL", 2),
    ("SDATA", 1000),
)  # fmt: skip
"""Field names and widths of the IDoc data record, in order."""

# DDIC types of the record fields that are not plain CHAR.
_DC40_TYPES = {"DOCNUM": "NUMC(16)", "CREDAT": "DATS", "CRETIM": "TIMS"}
_DD40_TYPES = {"DOCNUM": "NUMC(16)", "SEGNUM": "NUMC(6)", "PSGNUM": "NUMC(6)", "HLEVEL": "CHAR(2)"}


def _record(name: str, layout: tuple[tuple[str, int], ...], types: dict[str, str], doc: str) -> Structure:
    fields = [Field(name=field, type=types.get(field, f"CHAR({width})"), optional=True) for field, width in layout]
    return Structure(name=name, description=doc, fields=fields)


def _params(name: str, stereotype: str, fields: list[Field]) -> Structure:
    return Structure.model_validate({"name": name, "stereotype": stereotype, "fields": fields})


_DELIVERY_FIELDS = (
    Field(name="tid", type="CHAR(24)", description="the SAP TID the call was submitted under"),
    Field(name="state", type="String", description="how far delivery got, e.g. CONFIRMED"),
    Field(
        name="packetPosition",
        type="Integer",
        optional=True,
        description="for an IDoc sent in a packet: its position there (from 1); tid is the packet's",
    ),
)
"""What a receipt says of a delivery: of a request's one IDoc (DeliveryReceipt), or of each (IDocReceipt)."""


@cache
def builtin_structures() -> tuple[Structure, ...]:
    """EDI_DC40, EDI_DD40, the parameter structures of the built-in functions, IDocRecords, IDocReceipt,
    DeliveryReceipt."""
    return (
        _record("EDI_DC40", EDI_DC40_LAYOUT, _DC40_TYPES, "IDoc control record (524 characters)"),
        _record("EDI_DD40", EDI_DD40_LAYOUT, _DD40_TYPES, "IDoc data record (1063 characters)"),
        _params(
            "IDOC_INBOUND_ASYNCHRONOUS_TABLES",
            "SAPTables",
            [
                Field(name="IDOC_CONTROL_REC_40", type="EDI_DC40", array=True),
                Field(name="IDOC_DATA_REC_40", type="EDI_DD40", array=True),
            ],
        ),
        _params(
            "IDOC_INBOUND_IN_QUEUE_IMPORT",
            "SAPParameters",
            [Field(name="QNAME", type="CHAR(24)", optional=True, description="the qRFC queue (TRFCQNAM)")],
        ),
        _params(
            "IDOC_INBOUND_IN_QUEUE_TABLES",
            "SAPTables",
            [
                Field(name="IDOC_CONTROL_REC_40", type="EDI_DC40", array=True),
                Field(name="IDOC_DATA_QUEUE", type="EDI_DD40", array=True),
            ],
        ),
        _params("STFC_CONNECTION_IMPORT", "SAPParameters", [Field(name="REQUTEXT", type="CHAR(255)")]),
        Structure(
            name=IDOC_RECORDS,
            description="One IDoc as records: what an operation taking an IDoc document hands its activity",
            fields=[
                Field(name="controlRecord", type="EDI_DC40", description="the control record"),
                Field(name="dataRecords", type="EDI_DD40", array=True, description="the data records, in order"),
            ],
        ),
        Structure(
            name="IDocReceipt",
            description="How far delivery got for one IDoc of a request that carried many",
            fields=[
                Field(name="number", type="Integer", description="the IDoc's place in the request (from 1)"),
                *_DELIVERY_FIELDS,
            ],
        ),
        Structure(
            name="DeliveryReceipt",
            description="The answer of an operation that delivers over tRFC: its transaction ID, TID and state",
            fields=[
                Field(name="transactionId", type="String", description="the request's transaction ID (log)"),
                *_DELIVERY_FIELDS,
                Field(
                    name="idocs",
                    type="IDocReceipt",
                    array=True,
                    optional=True,
                    description="for a request of many IDocs: each IDoc's receipt, in request order; state is then "
                    "the least advanced of theirs, tid theirs when they share one",
                ),
            ],
        ),
        _params(
            "STFC_CONNECTION_EXPORT",
            "SAPParameters",
            [Field(name="ECHOTEXT", type="CHAR(255)"), Field(name="RESPTEXT", type="CHAR(255)")],
        ),
    )


@cache
def builtin_functions() -> tuple[FunctionInterface, ...]:
    """IDOC_INBOUND_ASYNCHRONOUS (inbound IDocs over tRFC), IDOC_INBOUND_IN_QUEUE (over qRFC) and
    STFC_CONNECTION (connection test)."""
    return (
        FunctionInterface.model_validate(
            {
                "name": "IDOC_INBOUND_ASYNCHRONOUS",
                "tables": "IDOC_INBOUND_ASYNCHRONOUS_TABLES",
                "description": "Inbound IDocs: control records and data records (release 4.0 and later)",
            }
        ),
        FunctionInterface.model_validate(
            {
                "name": "IDOC_INBOUND_IN_QUEUE",
                "import": "IDOC_INBOUND_IN_QUEUE_IMPORT",
                "tables": "IDOC_INBOUND_IN_QUEUE_TABLES",
                "description": "Inbound IDocs in a qRFC queue (EOIO): QNAME, control records, data records",
            }
        ),
        FunctionInterface.model_validate(
            {
                "name": "STFC_CONNECTION",
                "import": "STFC_CONNECTION_IMPORT",
                "export": "STFC_CONNECTION_EXPORT",
                "description": "Connection test: echoes REQUTEXT, describes the system in RESPTEXT",
            }
        ),
    )
