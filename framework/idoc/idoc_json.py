"""IDocs as JSON: the document shape of IDoc-XML, for people and tools that prefer JSON.

One IDoc is an object::

    {"control": {"TABNAM": "EDI_DC40", "IDOCTYP": "ORDERS05", ...},
     "segments": [{"segment": "E1EDK01", "fields": {"CURCY": "EUR"}, "children": [...]}, ...]}

A file holds a JSON array of them; :func:`write_idoc_json` writes the array one IDoc at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.records import CONTROL_RECORD

__all__ = ["IDocJsonError", "idoc_from_json", "idoc_to_json", "write_idoc_json", "write_json_objects"]


class IDocJsonError(IdocbridgeError):
    """JSON that does not have the shape of an IDoc; the message names the path of the wrong value."""


def idoc_to_json(idoc: IDoc) -> dict[str, Any]:
    """The JSON object of an IDoc."""
    return {"control": dict(idoc.control), "segments": [_segment_json(s) for s in idoc.segments]}


def _segment_json(segment: Segment) -> dict[str, Any]:
    result: dict[str, Any] = {"segment": segment.type, "fields": dict(segment.fields)}
    if segment.children:
        result["children"] = [_segment_json(child) for child in segment.children]
    return result


def _json_view(idoc: IDoc) -> dict[str, Any]:
    """:func:`idoc_to_json` sharing the IDoc's dicts of values instead of copying them (to serialise at once)."""
    return {"control": idoc.control, "segments": [_segment_view(s) for s in idoc.segments]}


def _segment_view(segment: Segment) -> dict[str, Any]:
    if segment.children:
        return {
            "segment": segment.type,
            "fields": segment.fields,
            "children": [_segment_view(c) for c in segment.children],
        }
    return {"segment": segment.type, "fields": segment.fields}


def idoc_from_json(value: Any, where: str = "$") -> IDoc:
    """The IDoc of a JSON object as :func:`idoc_to_json` writes it; unknown keys are errors."""
    item = _object(value, where, required={"control", "segments"}, optional=set())
    control = _strings(item["control"], f"{where}.control")
    unknown = sorted(set(control) - set(CONTROL_RECORD.names))
    if unknown:
        raise IDocJsonError(f"{where}.control: {', '.join(unknown)} is not a field of the control record EDI_DC40")
    return IDoc(control, _segments(item["segments"], f"{where}.segments"))


def _segments(value: Any, where: str) -> list[Segment]:
    if not isinstance(value, list):
        raise IDocJsonError(f"{where}: expected a list of segments")
    result = []
    for index, entry in enumerate(value):
        path = f"{where}[{index}]"
        item = _object(entry, path, required={"segment"}, optional={"fields", "children"})
        if not isinstance(item["segment"], str) or not item["segment"]:
            raise IDocJsonError(f'{path}.segment: expected the segment type, e.g. "E1EDK01"')
        fields = _strings(item.get("fields", {}), f"{path}.fields")
        result.append(Segment(item["segment"], fields, _segments(item.get("children", []), f"{path}.children")))
    return result


def _object(value: Any, where: str, *, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise IDocJsonError(f"{where}: expected an object")
    missing = sorted(required - set(value))
    unknown = sorted(set(value) - required - optional)
    if missing:
        raise IDocJsonError(f"{where}: {', '.join(missing)} is missing")
    if unknown:
        raise IDocJsonError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(required | optional))}"
        )
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise IDocJsonError(f"{where}: expected an object of field names to text values")
    return {key: text.rstrip(" ") for key, text in value.items() if text.rstrip(" ")}


def write_idoc_json(out: IO[str], idocs: Iterable[IDoc]) -> int:
    """Write IDocs as a JSON array, one IDoc per line; returns how many were written."""
    return write_json_objects(out, map(_json_view, idocs))


_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)
"""An IDoc's JSON is a tree (segments hold their children, nothing refers back): no check for cycles needed,
and not keeping track of every object it passes makes the encoder a quarter faster."""


def write_json_objects(out: IO[str], objects: Iterable[dict[str, Any]]) -> int:
    """Write IDocs given as their JSON objects (:func:`idoc_to_json`'s shape) as :func:`write_idoc_json` does."""
    count = 0
    out.write("[")
    for item in objects:
        out.write(",\n" if count else "\n")
        out.write(_ENCODER.encode(item))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
