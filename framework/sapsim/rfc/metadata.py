"""RFC's metadata functions, answered from the simulator's function catalogue and DDIC layouts.

RFC_GET_FUNCTION_INTERFACE lists a function's parameters as RFC_FUNINT rows (Unicode byte
lengths); DDIF_FIELDINFO_GET and RFC_GET_STRUCTURE_DEFINITION list a structure's fields with their
Unicode offsets. Clients call these before they call a function, so every function in
:data:`idocbridge.sapsim.functions.registry` and the protocol's own functions are described.
"""

from __future__ import annotations

from typing import Any

from idocbridge.models.ddic import parse_scalar_type
from idocbridge.sapsim.functions import AbapError, Parameter, registry
from idocbridge.sapsim.rfc import ddic

__all__ = [
    "PROTOCOL_INTERFACES",
    "LookupFailed",
    "UndescribableError",
    "field_info",
    "function_interface",
    "interface_of",
    "structure_definition",
]


class LookupFailed(AbapError):
    """A lookup's ABAP exception with its T100 message: class, number and variables."""

    def __init__(self, key: str, message: str, message_class: str = "", number: str = "000", *variables: str) -> None:
        super().__init__(key, message)
        self.message_class = message_class
        self.number = number
        self.variables = variables


class UndescribableError(Exception):
    """A function whose parameter types the RFC layer cannot lay out (answered as a system failure)."""


PROTOCOL_INTERFACES: dict[str, tuple[Parameter, ...]] = {
    "RFCPING": (),
    "RFC_GET_FUNCTION_INTERFACE": (
        Parameter("I", "FUNCNAME", "CHAR(30)"),
        Parameter("I", "LANGUAGE", "CHAR(1)", optional=True),
        Parameter("I", "NONE_UNICODE_LENGTH", "CHAR(1)", optional=True),
        Parameter("E", "REMOTE_BASXML_SUPPORTED", "CHAR(1)"),
        Parameter("E", "REMOTE_CALL", "CHAR(1)"),
        Parameter("E", "RFCSCOPE", "CHAR(1)"),
        Parameter("E", "RFCVERS", "CHAR(10)"),
        Parameter("E", "UPDATE_TASK", "CHAR(1)"),
        Parameter("T", "PARAMS", "RFC_FUNINT"),
        Parameter("T", "RESUMABLE_EXCEPTIONS", "RSEXC", optional=True),
    ),
    "DDIF_FIELDINFO_GET": (
        Parameter("I", "TABNAME", "CHAR(30)"),
        Parameter("I", "FIELDNAME", "CHAR(30)", optional=True),
        Parameter("I", "LANGU", "CHAR(1)", optional=True),
        Parameter("I", "LFIELDNAME", "CHAR(132)", optional=True),
        Parameter("I", "ALL_TYPES", "CHAR(1)", optional=True),
        Parameter("I", "GROUP_NAMES", "CHAR(1)", optional=True),
        Parameter("E", "DDOBJTYPE", "CHAR(8)"),
        Parameter("T", "DFIES_TAB", "DFIES", optional=True),
        Parameter("T", "FIXED_VALUES", "DDFIXVALUE", optional=True),
    ),
    "RFC_GET_STRUCTURE_DEFINITION": (
        Parameter("I", "TABNAME", "CHAR(30)"),
        Parameter("I", "UCLEN", "RAW(1)", optional=True),
        Parameter("E", "TABLENGTH", "INT4"),
        Parameter("T", "FIELDS", "X030L_FIELD"),
    ),
    "API_CREATE_TID": (Parameter("E", "TID", "CHAR(24)"),),
    "ARFC_DEST_SHIP": (
        Parameter("I", "ARFCTID", "CHAR(24)", optional=True),
        Parameter("I", "ARFCFNAM", "CHAR(30)", optional=True),
        Parameter("I", "ARFCQUEUE", "CHAR(24)", optional=True),
        Parameter("T", "STATE", "ARFCSSTATE", optional=True),
        Parameter("T", "DATA", "ARFCSDATA", optional=True),
    ),
    "API_CLEAR_TID": (Parameter("I", "TID", "RAW(48)"),),
    "ARFC_DEST_CONFIRM": (
        Parameter("I", "TID", "CHAR(24)", optional=True),
        Parameter("I", "ARFCTID", "CHAR(24)", optional=True),
    ),
}
"""The interfaces of the function modules RFC itself uses (metadata, ping, tRFC)."""


def interface_of(function: str) -> tuple[Parameter, ...] | None:
    """The parameters of ``function``: a protocol function, or one of the catalogue; None if unknown."""
    if function in PROTOCOL_INTERFACES:
        return PROTOCOL_INTERFACES[function]
    module = registry.get(function)
    return module.parameters if module is not None else None


def _funint_row(parameter: Parameter, position: int) -> dict[str, Any]:
    try:
        scalar = parse_scalar_type(parameter.type)
        if scalar is not None:
            shape = ddic.scalar_layout(scalar)
            exid, length, decimals, tabname = shape.exid, shape.uc_length, shape.decimals, ""
        else:
            exid, length, decimals, tabname = "u", ddic.layout(parameter.type).uc_size, 0, parameter.type
    except ddic.UnknownTypeError as exc:
        raise UndescribableError(f"parameter {parameter.name}: {exc}") from exc
    return parameter.interface_row(position, exid, length, decimals, tabname)


def function_interface(params: dict[str, Any]) -> dict[str, Any]:
    """RFC_GET_FUNCTION_INTERFACE: FU_NOT_FOUND (message FL 046) for a function the system lacks."""
    name = str(params.get("FUNCNAME") or "").strip().upper()
    parameters = interface_of(name)
    if parameters is None:
        raise LookupFailed("FU_NOT_FOUND", f"Function module {name} not found", "FL", "046", name)
    rows = [_funint_row(parameter, position) for position, parameter in enumerate(parameters, start=1)]
    # Blank REMOTE_BASXML_SUPPORTED: clients then use the classic serialisation, the only one served.
    return {
        "REMOTE_BASXML_SUPPORTED": "",
        "REMOTE_CALL": "R",
        "RFCSCOPE": "",
        "RFCVERS": "",
        "UPDATE_TASK": "",
        "PARAMS": rows,
        "RESUMABLE_EXCEPTIONS": [],
    }


def _structure(params: dict[str, Any]) -> ddic.Layout:
    name = str(params.get("TABNAME") or "").strip().upper()
    try:
        return ddic.layout(name)
    except ddic.UnknownTypeError as exc:
        text = f"Structure {name or '(none)'} is not active in the dictionary"
        raise LookupFailed("NOT_FOUND", text) from exc


def _field_type(field: ddic.FieldLayout) -> tuple[str, str, int, int]:
    if field.scalar is None:
        return "STRU", "u", 0, 0
    return field.scalar.datatype, field.scalar.exid, field.scalar.leng, field.scalar.decimals


def field_info(params: dict[str, Any]) -> dict[str, Any]:
    """DDIF_FIELDINFO_GET: one DFIES row per field (Unicode offsets and lengths); NOT_FOUND if unknown."""
    structure = _structure(params)
    rows = []
    for field in structure.fields:
        datatype, inttype, leng, decimals = _field_type(field)
        rows.append(
            {
                "TABNAME": structure.name,
                "FIELDNAME": field.name,
                "LANGU": "E",
                "POSITION": f"{field.position:04d}",
                "OFFSET": f"{field.offset:06d}",
                "LENG": f"{leng:06d}",
                "INTLEN": f"{field.uc_length:06d}",
                "OUTPUTLEN": f"{leng:06d}",
                "DECIMALS": f"{decimals:06d}",
                "DATATYPE": datatype,
                "INTTYPE": inttype,
                "FIELDTEXT": field.name,
            }
        )
    return {"DDOBJTYPE": "INTTAB", "DFIES_TAB": rows, "FIXED_VALUES": []}


def structure_definition(params: dict[str, Any]) -> dict[str, Any]:
    """RFC_GET_STRUCTURE_DEFINITION: the structure's length and its fields (the older lookup)."""
    structure = _structure(params)
    rows = [
        {
            "TABNAME": structure.name,
            "FIELDNAME": field.name,
            "POSITION": field.position,
            "OFFSET": field.offset,
            "INTLENGTH": field.uc_length,
            "DECIMALS": _field_type(field)[3],
            "EXID": _field_type(field)[1],
        }
        for field in structure.fields
    ]
    return {"TABLENGTH": structure.uc_size, "FIELDS": rows}
