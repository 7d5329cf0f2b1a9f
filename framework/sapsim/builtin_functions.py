"""RFC_PING, STFC_CONNECTION, RFC_SYSTEM_INFO and RFC_GET_FUNCTION_INTERFACE, as SAP fills them."""

from __future__ import annotations

import os
import socket
from typing import Any

from idocbridge.models.builtins import builtin_structures
from idocbridge.models.ddic import parse_scalar_type
from idocbridge.sapsim.functions import AbapError, CallContext, Parameter, function_module, registry

__all__: list[str] = []


@function_module("RFC_PING", text="Checks that the system answers")
def rfc_ping(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return {}


@function_module(
    "STFC_CONNECTION",
    parameters=[
        Parameter("I", "REQUTEXT", "CHAR(255)"),
        Parameter("E", "ECHOTEXT", "CHAR(255)"),
        Parameter("E", "RESPTEXT", "CHAR(255)"),
    ],
    text="Connection test: echoes REQUTEXT and describes the system",
)
def stfc_connection(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    now = context.now
    language = (context.language or "E")[:1]
    response = (
        f"SAP R/3 Rel. {context.config.release}   Sysid: {context.config.system_id}      "
        f"Date: {now:%Y%m%d}   Time: {now:%H%M%S}   Logon_Data: {context.client}/{context.user}/{language}"
    )
    return {"ECHOTEXT": str(params.get("REQUTEXT", ""))[:255], "RESPTEXT": response[:255]}


@function_module(
    "RFC_SYSTEM_INFO",
    parameters=[Parameter("E", "RFCSI_EXPORT", "RFCSI")],
    text="Describes the system (release, system ID, host, code page)",
)
def rfc_system_info(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    host = socket.gethostname()[:8]
    return {
        "RFCSI_EXPORT": {
            "RFCPROTO": "011",
            "RFCCHARTYP": "4103",
            "RFCINTTYP": "LIT",
            "RFCFLOTYP": "IE3",
            "RFCDEST": f"{host}_{context.config.system_id}_00",
            "RFCHOST": host,
            "RFCSYSID": context.config.system_id,
            "RFCDATABS": context.config.system_id,
            "RFCDBHOST": host,
            "RFCDBSYS": "SQLITE",
            "RFCSAPRL": context.config.release,
            "RFCMACH": "  390",
            "RFCOPSYS": os.uname().sysname[:10],
            "RFCTZONE": "     0",
            "RFCDAYST": "",
            "RFCIPADDR": "127.0.0.1",
            "RFCKERNRL": "793",
            "RFCHOST2": host,
            "RFCSI_RESV": "",
            "RFCIPV6ADDR": "::1",
        }
    }


_EXID = {
    "CHAR": "C",
    "NUMC": "N",
    "DATS": "D",
    "TIMS": "T",
    "INT1": "b",
    "INT2": "s",
    "INT4": "I",
    "INT8": "8",
    "DEC": "P",
    "FLTP": "F",
    "RAW": "X",
    "STRING": "g",
    "XSTRING": "y",
}


def _width(type_expression: str) -> int:
    """Characters a value of this type takes in a flat record (structures: the sum of their fields)."""
    scalar = parse_scalar_type(type_expression)
    if scalar is not None:
        return scalar.max_length or 0
    structure = next((s for s in builtin_structures() if s.name == type_expression), None)
    return sum(_width(field.type) for field in structure.fields) if structure else 0


def _describe(parameter: Parameter, position: int) -> dict[str, Any]:
    scalar = parse_scalar_type(parameter.type)
    length = _width(parameter.type)
    if scalar is not None:
        exid, decimals, tabname = _EXID.get(scalar.name, "C"), scalar.decimals or 0, ""
    else:
        exid, decimals, tabname = ("h" if parameter.param_class == "T" else "u"), 0, parameter.type
    return parameter.interface_row(position, exid, length, decimals, tabname)


@function_module(
    "RFC_GET_FUNCTION_INTERFACE",
    parameters=[
        Parameter("I", "FUNCNAME", "CHAR(30)"),
        Parameter("I", "LANGUAGE", "CHAR(1)", optional=True),
        Parameter("E", "REMOTE_BASXML_SUPPORTED", "CHAR(1)"),
        Parameter("E", "REMOTE_CALL", "CHAR(1)"),
        Parameter("T", "PARAMS", "RFC_FUNINT"),
    ],
    text="The parameters of a function module",
)
def rfc_get_function_interface(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("FUNCNAME", "")).strip().upper()
    module = registry.get(name)
    if module is None:
        raise AbapError("FU_NOT_FOUND", f"function module {name} does not exist")
    rows = [_describe(parameter, position) for position, parameter in enumerate(module.parameters, start=1)]
    return {"REMOTE_BASXML_SUPPORTED": "X", "REMOTE_CALL": "R", "PARAMS": rows}
