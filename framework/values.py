"""RFC values as JSON: decimals as {"$decimal": "12.30"}, bytes as {"$bytes": "<base64>"}.

Used wherever function parameters cross a process boundary or rest in a database: the simulator's
wire format and the tRFC outbox.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "json_default", "json_object_hook", "loads"]


def json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"values of type {type(value).__name__} cannot be sent to SAP")


def json_object_hook(value: dict[str, Any]) -> object:
    if len(value) == 1:
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
    return value


def dumps(value: object) -> str:
    """``value`` as compact JSON, decimals and bytes tagged."""
    return json.dumps(value, default=json_default, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """The value of JSON text written by :func:`dumps`."""
    return json.loads(text, object_hook=json_object_hook)
