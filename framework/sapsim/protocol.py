"""The simulator's wire format: JSON messages over a TLS WebSocket.

This is idocbridge's own protocol, modelled on WebSocket RFC (endpoint /sap/bc/rfc, TLS only,
logon first, then calls); it is not SAP's binary WebSocket RFC protocol, and SAP tools cannot talk
to the simulator. Version 1:

    client -> {"type": "logon", "version": 1, "client": "100", "user": "U", "password": "...",
               "language": "EN", "alias_user": null, "certificate": false}
    server -> {"type": "logon_ok", "system": {...}}  or  {"type": "error", "error": {...}} and close
    client -> {"id": 7, "op": "call" | "ping" | "get_tid" | "submit" | "confirm", ...}
    server -> {"id": 7, "ok": true, "result": {...}}  or  {"id": 7, "ok": false, "error": {...}}

An error is {"kind": ..., "key": ..., "message": ...}; kinds map one to one onto the connector
errors ("invalid": the request itself is malformed). Decimals travel as {"$decimal": "12.30"},
bytes as {"$bytes": "<base64>"}.
"""

from __future__ import annotations

import binascii
from typing import Any, Final

from idocbridge.connectors.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    AuthorizationError,
    CommunicationError,
    ConnectorConfigurationError,
    ConnectorError,
    LogonError,
    TransactionBusyError,
)
from idocbridge.values import dumps, loads

__all__ = [
    "CONTROL_PATH",
    "ERROR_KINDS",
    "PROTOCOL_VERSION",
    "RFC_PATH",
    "decode",
    "encode",
    "error_body",
    "error_from_body",
]

PROTOCOL_VERSION: Final = 1
RFC_PATH: Final = "/sap/bc/rfc"
CONTROL_PATH: Final = "/sim/control"

ERROR_KINDS: dict[str, type[ConnectorError]] = {
    "invalid": ConnectorConfigurationError,
    "communication": CommunicationError,
    "tid_busy": TransactionBusyError,
    "logon": LogonError,
    "authorization": AuthorizationError,
    "abap_application": ABAPApplicationError,
    "abap_runtime": ABAPRuntimeError,
}
_KIND_OF = {cls: kind for kind, cls in ERROR_KINDS.items()}


def encode(message: dict[str, Any]) -> str:
    """One message as JSON text."""
    return dumps(message)


def decode(text: str | bytes) -> dict[str, Any]:
    """One message from JSON text; raises ValueError if it is not a JSON object of valid values."""
    try:
        value = loads(text)
    except RecursionError:
        raise ValueError("the message nests too deeply") from None
    except (ArithmeticError, TypeError, binascii.Error) as exc:  # a bad $decimal or $bytes
        raise ValueError(f"the message holds an invalid value: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("a message is a JSON object")
    return value


def error_body(kind: str, message: str, key: str | None = None) -> dict[str, str]:
    """The error object of a response."""
    cls = ERROR_KINDS[kind]
    return {"kind": kind, "key": key or cls.default_key, "message": message}


def error_from_body(body: dict[str, Any], *, function: str | None = None, tid: str | None = None) -> ConnectorError:
    """The connector error an error object stands for."""
    cls = ERROR_KINDS.get(str(body.get("kind")), ABAPRuntimeError)
    return cls(
        str(body.get("message", "error")), key=str(body.get("key") or cls.default_key), function=function, tid=tid
    )


def kind_of(error: ConnectorError) -> str:
    """The wire kind of a connector error."""
    return _KIND_OF.get(type(error), "abap_runtime")
