"""Run a step's mappings: read source paths, convert each value to its target's SAP type, write targets.

Paths were checked when the model loaded, so here they always resolve. What can still go wrong is a
value: a text longer than its CHAR field, a number that does not fit. That is a :class:`MappingError`,
which the SOAP frontend reports as the client's fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from idocbridge.errors import IdocbridgeError
from idocbridge.models.activities import Mapping
from idocbridge.models.datatypes import Structure
from idocbridge.models.ddic import Category, ScalarType
from idocbridge.models.index import ModelIndex, ResolvedType
from idocbridge.models.paths import Path, Segment, parse_path, resolve_type
from idocbridge.padding import ValuePadding, pad_value

__all__ = ["MappingError", "MappingRoot", "apply_mappings", "convert", "root"]


class MappingError(IdocbridgeError):
    """A value does not fit where the model maps it. ``side`` says whose value it was: the client's
    request (inputs) or SAP's answer (outputs)."""

    def __init__(self, message: str, side: str = "client") -> None:
        super().__init__(message)
        self.side = side


@dataclass(frozen=True)
class MappingRoot:
    """The data at a mapping root (``input``, ``tables``...) and the structure it follows."""

    data: dict[str, Any]
    structure: Structure


def _values(
    data: Any, segments: Sequence[Segment], indices: tuple[int, ...] = (), keep_missing: bool = False
) -> Iterator[tuple[tuple[int, ...], Any]]:
    """Every value at ``segments`` below ``data``, with the [*] positions that lead to it.

    With ``keep_missing``, an entry of a list whose value is missing yields None, so that the
    target still gets its row (a list maps onto a list entry by entry).
    """
    if not segments:
        yield indices, data
        return
    if not isinstance(data, dict):
        if keep_missing and indices:
            yield indices, None
        return
    segment, rest = segments[0], segments[1:]
    value = data.get(segment.name)
    if segment.index is None:
        if value is not None:
            yield from _values(value, rest, indices, keep_missing)
        elif keep_missing and indices:
            yield indices, None
    elif segment.index == "*":
        for position, item in enumerate(value or []):
            yield from _values(item, rest, (*indices, position), keep_missing)
    elif isinstance(value, list) and isinstance(segment.index, int) and segment.index < len(value):
        yield from _values(value[segment.index], rest, indices, keep_missing)


def _assign(data: dict[str, Any], segments: Sequence[Segment], indices: tuple[int, ...], value: Any) -> None:
    """Set ``value`` at ``segments`` below ``data``, creating rows and structures on the way."""
    node: dict[str, Any] = data
    remaining = list(indices)
    for number, segment in enumerate(segments):
        last = number == len(segments) - 1
        if segment.index is None:
            if last:
                node[segment.name] = value
                return
            node = node.setdefault(segment.name, {})
            continue
        rows = node.setdefault(segment.name, [])
        position = remaining.pop(0) if segment.index == "*" else int(segment.index)
        while len(rows) <= position:
            rows.append({})
        if last:
            rows[position] = value
            return
        node = rows[position]


def _touch_rows(data: dict[str, Any], segments: Sequence[Segment], indices: tuple[int, ...]) -> None:
    """Create the rows a [*] path runs through, without setting a value."""
    node: dict[str, Any] = data
    remaining = list(indices)
    for segment in segments[:-1]:
        if segment.index is None:
            node = node.setdefault(segment.name, {})
            continue
        rows = node.setdefault(segment.name, [])
        if segment.index != "*" or not remaining:
            return
        position = remaining.pop(0)
        while len(rows) <= position:
            rows.append({})
        node = rows[position]


def _rows_at(data: dict[str, Any], path: Path) -> list[tuple[int, ...]]:
    """The [*] positions of the rows that exist for a path that ends below its last [*]."""
    last = max(i for i, s in enumerate(path.segments) if s.index == "*")
    return [indices for indices, _ in _values(data, path.segments[: last + 1])]


def convert(
    value: Any, target: ResolvedType, where: str, padding: ValuePadding = "Never", index: ModelIndex | None = None
) -> Any:
    """``value`` as the target type wants it (deep copies for structures and tables); text padded as
    ``padding`` says (:mod:`idocbridge.padding`). With ``index``, the fields of a structure are converted
    one by one too (lengths checked, padding applied); without, a structure is copied as it is."""
    if target.array:
        return [convert(item, target.element(), where, padding, index) for item in value or []]
    if target.structure is not None:
        if not isinstance(value, dict):
            return value
        # SAP libraries take no None for a field: an unset optional field is simply left out.
        present = {key: item for key, item in value.items() if item is not None}
        if index is None:
            return present
        types = {field.name: index.field_type(field) for field in target.structure.fields}
        converted: dict[str, Any] = {}
        for key, item in present.items():
            field_type = types.get(key)
            converted[key] = item if field_type is None else convert(item, field_type, f"{where}.{key}", padding, index)
        return converted
    assert target.scalar is not None
    return _scalar(value, target.scalar, where, padding)


def _scalar(value: Any, scalar: ScalarType, where: str, padding: ValuePadding) -> Any:
    category = scalar.category
    try:
        if category is Category.TEXT:
            if isinstance(value, dt.datetime):
                text = value.strftime("%H%M%S" if scalar.name == "TIMS" else "%Y%m%d")
            elif isinstance(value, dt.date):
                text = value.strftime("%Y%m%d")
            else:
                text = str(value)
            if scalar.max_length is not None and len(text) > scalar.max_length:
                raise MappingError(f"{where}: {len(text)} characters do not fit {scalar} ({scalar.max_length})")
            if scalar.name == "NUMC" and text and not (text.isascii() and text.isdigit()):
                raise MappingError(f"{where}: {text!r} is not a NUMC value (digits only)")
            if scalar.name in ("DATS", "TIMS") and text and len(text) != scalar.max_length:
                raise MappingError(f"{where}: {text!r} is not a {scalar.name} value ({scalar.max_length} digits)")
            return pad_value(text, scalar.max_length, numeric=scalar.name == "NUMC", padding=padding)
        if category is Category.INTEGER:
            return int(value)
        if category is Category.DECIMAL:
            if scalar.name in ("FLTP", "Float"):
                return float(value)
            number = Decimal(str(value))
            if (
                scalar.name == "DEC"
                and scalar.length is not None
                and not _fits(number, scalar.length, scalar.decimals or 0)
            ):
                raise MappingError(f"{where}: {number} does not fit {scalar}")
            return number
        if category is Category.DATETIME and isinstance(value, str):
            if value.strip("0 ") == "":
                return None  # SAP's initial date: no date
            return dt.datetime.strptime(value, "%Y%m%d").date()
        if category is Category.BOOLEAN and isinstance(value, str):
            return value == "true"
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise MappingError(f"{where}: {value!r} is not a valid {scalar}: {exc}") from exc
    return value


def _fits(number: Decimal, precision: int, scale: int) -> bool:
    if not number.is_finite():
        return False
    quantized = number.quantize(Decimal(1).scaleb(-scale)) if scale else number.to_integral_value()
    if quantized != number:
        return False  # more decimal places than the field holds
    return len(quantized.as_tuple().digits) - max(0, -int(quantized.as_tuple().exponent)) <= precision - scale


def apply_mappings(
    index: ModelIndex,
    mappings: Sequence[Mapping],
    sources: dict[str, MappingRoot],
    targets: dict[str, MappingRoot],
    padding: ValuePadding = "Never",
) -> dict[str, dict[str, Any]]:
    """Run ``mappings`` (copies first, then constants, so constants can fill rows copies created).

    ``padding`` is the composite's SAP value padding for values going to SAP (Never for SAP's answers).
    """
    for mapping in sorted(mappings, key=lambda m: m.value is not None):
        target_path = parse_path(mapping.to)
        root = targets[target_path.root]
        target_type = resolve_type(index, root.structure, target_path)
        assert target_type is not None, f"{mapping.to}: the model was not checked"
        if mapping.from_ is not None:
            source_path = parse_path(mapping.from_)
            for indices, value in list(
                _values(sources[source_path.root].data, source_path.segments, keep_missing=True)
            ):
                if value is None:
                    _touch_rows(root.data, target_path.segments, indices)
                    continue
                converted = convert(value, target_type, mapping.to, padding, index)
                if converted is not None:
                    _assign(root.data, target_path.segments, indices, converted)
            continue
        rows = _rows_at(root.data, target_path) if target_path.wildcards else [()]
        for indices in rows:
            _assign(
                root.data,
                target_path.segments,
                indices,
                convert(mapping.value, target_type, mapping.to, padding, index),
            )
    return {name: root.data for name, root in targets.items()}


def root(data: dict[str, Any], structure: Structure) -> MappingRoot:
    """A mapping root: the data and the structure it follows."""
    return MappingRoot(data, structure)
