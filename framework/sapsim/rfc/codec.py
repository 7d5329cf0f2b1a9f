"""Calls on the wire: a request's TLV stream to Python values, and results and errors to reply streams.

Values are encoded and decoded with saprfclib's public codec, given descriptors built from the
simulator's own parameter types (:mod:`idocbridge.sapsim.rfc.ddic`). A request names the function
(0102), declares the outputs it wants back (0205), and carries scalar and structure values
(0201 + 0203) and tables (0301, 0330, 0302 shape, one 0303/0304 record per row). A success reply
echoes the declarations, then the exports, changing values and tables; an exception reply carries
the key, message class, type, number and text.
"""

from __future__ import annotations

import decimal
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from saprfclib import codec
from saprfclib.invoke import decompress_table_stream
from saprfclib.types import FieldDesc

from idocbridge.models.ddic import parse_scalar_type
from idocbridge.sapsim.functions import Parameter
from idocbridge.sapsim.rfc import ddic
from idocbridge.sapsim.rfc.tlv import (
    T_CALL_STACK,
    T_DECLARE,
    T_END,
    T_EXCEPTION_KEY,
    T_FUNCTION,
    T_MESSAGE,
    T_MESSAGE_CLASS,
    T_MESSAGE_NUMBER,
    T_MESSAGE_TYPE,
    T_MESSAGE_V1,
    T_PARAM_NAME,
    T_PARAM_VALUE,
    T_PARAMETERS,
    T_PROGRAM,
    T_REPLY_BEGIN,
    T_RETURN_CODE,
    T_ROW,
    T_ROW_LAST,
    T_ROWS_COMPRESSED,
    T_SERVER_TIME,
    T_SUCCESS,
    T_TABLE_ID,
    T_TABLE_NAME,
    T_TABLE_SHAPE,
    T_TOKEN,
    ProtocolError,
    fixed,
    read_text,
    record,
    text,
    walk,
)

__all__ = [
    "CallError",
    "Request",
    "abap_exception",
    "decode_parameters",
    "field_descriptor",
    "parse_request",
    "success",
    "system_failure",
]


class CallError(Exception):
    """A request the function cannot run with: answered as a system failure, the connection stays."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class _Table:
    rows: list[bytes] = field(default_factory=list)
    compressed: list[bytes] = field(default_factory=list)
    width: int = 0
    count: int = 0


@dataclass
class Request:
    """One call as it came off the wire: function, declared outputs, raw values and table rows."""

    function: str
    declared: list[str]
    values: dict[str, bytes]
    tables: dict[str, list[bytes]]


def parse_request(tlv: bytes) -> Request:
    """Walk a call's records; values stay bytes until the function's interface decodes them."""
    function, declared, values, tables = "", [], {}, {}
    name: str | None = None
    table: _Table | None = None
    pending: dict[str, _Table] = {}
    for tag, value in walk(tlv):
        if tag == T_FUNCTION and not function:
            function = read_text(value).upper()
        elif tag == T_DECLARE:
            declared.append(read_text(value))
        elif tag == T_PARAM_NAME:
            name, table = read_text(value), None
        elif tag == T_PARAM_VALUE and name is not None:
            values[name] = value
            name = None
        elif tag == T_TABLE_NAME:
            table = pending.setdefault(read_text(value), _Table())
        elif tag == T_TABLE_SHAPE and table is not None and len(value) >= 8:
            table.width, table.count = struct.unpack_from(">II", value, 0)
        elif tag in (T_ROW, T_ROW_LAST) and table is not None:
            table.rows.append(value)
        elif tag == T_ROWS_COMPRESSED and table is not None:
            table.compressed.append(value)
        elif tag in (0x3C02, 0x3C05):
            raise CallError("RFC_NOT_SUPPORTED", "XML-encoded (deep) tables are not supported by the simulator")
    if not function:
        raise ProtocolError("a call without a function name (record 0102)")
    for table_name, collected in pending.items():
        if collected.compressed:
            try:
                stream = decompress_table_stream(collected.compressed, table_name)
            except ValueError as exc:
                raise ProtocolError(f"table {table_name}: the compressed rows cannot be read ({exc})") from None
            width = collected.width or 1
            tables[table_name] = [stream[start : start + width] for start in range(0, len(stream), width)]
        else:
            tables[table_name] = collected.rows
    return Request(function, declared, values, tables)


def field_descriptor(parameter: Parameter) -> FieldDesc:
    """saprfclib's descriptor of one parameter: a scalar, a structure, or a table of structures."""
    scalar = parse_scalar_type(parameter.type)
    if scalar is not None:
        if parameter.param_class == "T":
            raise ddic.UnknownTypeError(f"table parameter {parameter.name} has the scalar type {scalar}")
        shape = ddic.scalar_layout(scalar)
        return FieldDesc(parameter.name, shape.rfctype, shape.nuc_length, 0, shape.uc_length, 0, shape.decimals)
    structure = ddic.layout(parameter.type)
    rfctype = codec.RFCTYPE_TABLE if parameter.param_class == "T" else codec.RFCTYPE_STRUCTURE
    return FieldDesc(
        parameter.name, rfctype, structure.uc_size, 0, structure.uc_size, 0, 0, type_desc=structure.type_desc()
    )


def decode_parameters(request: Request, parameters: Iterable[Parameter]) -> dict[str, Any]:
    """The request's values as the function module takes them; unknown names are refused."""
    by_name = {parameter.name: parameter for parameter in parameters}
    unknown = sorted((set(request.values) | set(request.tables)) - set(by_name))
    if unknown:
        raise CallError(
            "RFC_INVALID_PARAMETER",
            f"{request.function} has no parameter {', '.join(unknown)}; it has {', '.join(by_name) or 'none'}",
        )
    decoded: dict[str, Any] = {}
    try:
        for name, raw in request.values.items():
            parameter = by_name[name]
            descriptor = field_descriptor(parameter)
            if parameter.param_class == "T":
                raise CallError("RFC_INVALID_PARAMETER", f"{name} of {request.function} is a table, sent as a value")
            decoded[name] = codec.decode(descriptor.rfctype, raw, descriptor)
        for name, rows in request.tables.items():
            parameter = by_name[name]
            if parameter.param_class != "T":
                raise CallError("RFC_INVALID_PARAMETER", f"{name} of {request.function} is not a table")
            descriptor = field_descriptor(parameter)
            width = descriptor.uc_length
            short = next((len(row) for row in rows if len(row) < width), None)
            if short is not None:
                problem = f"a row of {name} has {short} bytes; its type {parameter.type} needs {width}"
                raise CallError("RFC_INVALID_PARAMETER", problem)
            decoded[name] = [codec.decode(codec.RFCTYPE_STRUCTURE, row[:width], _row(descriptor)) for row in rows]
    except (ValueError, UnicodeDecodeError, decimal.InvalidOperation) as exc:
        raise CallError("RFC_CONVERSION_FAILURE", f"{request.function}: a value cannot be read: {exc}") from exc
    return decoded


def _row(table: FieldDesc) -> FieldDesc:
    assert table.type_desc is not None
    size = table.type_desc.uc_size
    return FieldDesc(table.name, codec.RFCTYPE_STRUCTURE, size, 0, size, 0, 0, type_desc=table.type_desc)


# -- replies ----------------------------------------------------------------------------------------


def _coerce(descriptor: FieldDesc, value: Any) -> Any:
    """A function module's value in the Python type saprfclib encodes for this field."""
    rfctype = descriptor.rfctype
    if rfctype == codec.RFCTYPE_STRUCTURE:
        assert descriptor.type_desc is not None
        given = dict(value or {})
        return {f.name: _coerce(f, given[f.name]) for f in descriptor.type_desc.fields if given.get(f.name) is not None}
    if rfctype in (codec.RFCTYPE_INT, codec.RFCTYPE_INT1, codec.RFCTYPE_INT2, codec.RFCTYPE_INT8):
        return int(value or 0)
    if rfctype == codec.RFCTYPE_FLOAT:
        return float(value or 0)
    if rfctype == codec.RFCTYPE_BCD:
        return decimal.Decimal(str(value or 0))
    if rfctype in (codec.RFCTYPE_BYTE, codec.RFCTYPE_XSTRING):
        return bytes(value or b"")
    return "" if value is None else str(value)


def _reply_head() -> bytes:
    return (
        record(T_REPLY_BEGIN)
        + record(T_SUCCESS)
        + record(T_TOKEN, bytes(16))
        + record(T_RETURN_CODE, b"\x00\x00\x00\x00")
        + record(T_PARAMETERS)
    )


def _reply_tail(program: str) -> bytes:
    server_time = struct.pack("<d", time.time() * 1e6)
    return record(T_PROGRAM, fixed(program, 40)) + record(T_SERVER_TIME, server_time) + record(T_END)


def success(parameters: Iterable[Parameter], result: dict[str, Any], program: str) -> bytes:
    """A success reply: every export and changing value (declared by 0205), and each table in ``result``.

    Values a function module leaves out are sent initial, as ABAP does; tables are sent only when
    the function returns them (a table the client sent and the function left alone is not echoed).
    """
    values, tables = [], []
    table_id = 0
    for parameter in parameters:
        if parameter.param_class == "I":
            continue
        descriptor = field_descriptor(parameter)
        if parameter.param_class == "T":
            if parameter.name not in result:
                continue
            table_id += 1
            rows = list(result[parameter.name] or [])
            row_descriptor = _row(descriptor)
            width = ddic.layout(parameter.type).declared_width
            tables.append(record(T_TABLE_NAME, text(parameter.name)) + record(T_TABLE_ID, struct.pack(">I", table_id)))
            tables.append(record(T_TABLE_SHAPE, struct.pack(">II", width, len(rows))))
            tables.extend(
                record(T_ROW, codec.encode(codec.RFCTYPE_STRUCTURE, _coerce(row_descriptor, row), row_descriptor))
                for row in rows
            )
        else:
            value = codec.encode(descriptor.rfctype, _coerce(descriptor, result.get(parameter.name)), descriptor)
            values.append((parameter.name, value))
    body = [_reply_head()]
    body += [record(T_DECLARE, text(name)) for name, _ in values]
    body += [record(T_PARAM_NAME, text(name)) + record(T_PARAM_VALUE, value) for name, value in values]
    body += [*tables, _reply_tail(program)]
    return b"".join(body)


def abap_exception(
    key: str, message: str, *, message_class: str = "", number: str = "000", variables: tuple[str, ...] = ()
) -> bytes:
    """An ABAP exception reply (RAISE key / MESSAGE ... RAISING key): key, message type E, text."""
    body = [record(T_REPLY_BEGIN)]
    if message_class:
        body.append(record(T_MESSAGE_CLASS, text(message_class)))
    body += [record(T_MESSAGE_TYPE, text("E")), record(T_MESSAGE_NUMBER, text(number))]
    body += [record(T_MESSAGE_V1 + index, text(value)) for index, value in enumerate(variables[:4]) if value]
    body += [record(T_EXCEPTION_KEY, text(key)), record(T_MESSAGE, text(message)), record(T_END)]
    return b"".join(body)


def system_failure(key: str, message: str) -> bytes:
    """A SYSTEM_FAILURE reply: an X message (number 341) naming the runtime error ``key``, with its text.

    SAP's X messages carry class 00; it is left out so that erpl-pyrfc shows the text rather than
    "ID:00 Type:X Number:341".
    """
    return b"".join(
        [
            record(T_REPLY_BEGIN),
            record(T_CALL_STACK, text("SAPMSSY1")),
            record(T_MESSAGE_TYPE, text("X")),
            record(T_MESSAGE_NUMBER, text("341")),
            record(T_EXCEPTION_KEY, text(key)),
            record(T_MESSAGE, text(message)),
            record(T_END),
        ]
    )
