"""Mappings: each path exists, each source fits its target, lists map onto lists entry by entry."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from idocbridge.models.activities import Mapping
from idocbridge.models.datatypes import Structure
from idocbridge.models.ddic import INTEGER_RANGES, Category, ScalarType
from idocbridge.models.index import ResolvedType
from idocbridge.models.paths import Path, PathSyntaxError, parse_path
from idocbridge.models.rules.context import Checker

__all__ = ["MappingScope", "check_mappings"]


@dataclass(frozen=True)
class MappingScope:
    """The roots a list of mappings may read from and write to, with the structure of each."""

    sources: dict[str, Structure | None]
    targets: dict[str, Structure | None]
    owner: str  # "operation 'X'" or "function 'F'", for messages about missing roots
    describe_root: dict[str, str]  # root -> what it is ("the request of operation 'X'")
    unresolved: frozenset[str] = frozenset()  # roots whose declared type does not exist


def check_mappings(checker: Checker, mappings: Sequence[Mapping], scope: MappingScope) -> None:
    targets: list[tuple[Mapping, Path]] = []
    row_sources: set[str] = set()
    for mapping in mappings:
        target = _resolve(checker, mapping, "to", mapping.to, scope.targets, scope)
        if target is None:
            continue
        path, target_type = target
        if mapping.from_ is not None:
            source = _resolve(checker, mapping, "from_", mapping.from_, scope.sources, scope)
            if source is None:
                continue
            source_path, source_type = source
            if source_path.wildcards != path.wildcards:
                checker.error(
                    mapping,
                    "to",
                    f"'{mapping.to}' has {path.wildcards} [*] but its source '{mapping.from_}' "
                    f"has {source_path.wildcards}",
                    "map lists entry by entry: use [*] on both sides alike",
                )
                continue
            reason = _incompatible(source_type, target_type)
            if reason:
                checker.error(
                    mapping,
                    "from_",
                    f"cannot map '{mapping.from_}' ({source_type.describe()}) to "
                    f"'{mapping.to}' ({target_type.describe()}): {reason}",
                    _TYPE_HINT,
                )
                continue
            row_sources.update(path.wildcard_prefixes())
        else:
            assert mapping.value is not None
            _check_constant(checker, mapping, target_type)
        targets.append((mapping, path))
    _check_targets(checker, targets, row_sources)


_TYPE_HINT = "map fields of compatible types, or convert the value in a mapping hook"


def _resolve(
    checker: Checker,
    mapping: Mapping,
    field: str,
    text: str,
    roots: dict[str, Structure | None],
    scope: MappingScope,
) -> tuple[Path, ResolvedType] | None:
    try:
        path = parse_path(text)
    except PathSyntaxError as exc:
        checker.error(
            mapping,
            field,
            str(exc),
            "write a path such as input.controlRecord or tables.IDOC_DATA_REC_40[*].SDATA",
        )
        return None
    side = "target" if field == "to" else "source"
    if path.root not in roots:
        allowed = ", ".join(roots)
        checker.error(
            mapping, field, f"'{path.root}' is not a {side} root here", f"a {side} path starts with {allowed}"
        )
        return None
    structure = roots[path.root]
    if structure is None and path.root in scope.unresolved:
        return None  # the undefined type is reported where it is named
    if structure is None:
        checker.error(
            mapping,
            field,
            f"'{text}' refers to {scope.describe_root[path.root]}, which is not declared",
            f"declare it on {scope.owner}, or remove this mapping",
        )
        return None
    current = ResolvedType(structure=structure)
    walked = path.root
    for segment in path.segments:
        if current.array:
            checker.error(
                mapping,
                field,
                f"'{walked}' is a list",
                f"write {walked}[*] to map every entry or {walked}[0] for one",
            )
            return None
        if current.structure is None:
            checker.error(
                mapping,
                field,
                f"'{walked}' is {current.describe()}, which has no field '{segment.name}'",
                "remove the part of the path after it",
            )
            return None
        found = next((f for f in current.structure.fields if f.name == segment.name), None)
        if found is None:
            names = [f.name for f in current.structure.fields]
            suggestion = checker.index.suggest(segment.name, names)
            hint = f"did you mean '{suggestion}'?" if suggestion else "fields: " + ", ".join(names)
            checker.error(
                mapping,
                field,
                f"'{current.structure.name}' has no field '{segment.name}' (in '{text}')",
                hint,
            )
            return None
        resolved = checker.index.field_type(found)
        if resolved is None:
            return None  # the type rule reports the unknown type
        walked = f"{walked}.{segment}"
        if segment.index is not None:
            if not resolved.array:
                checker.error(
                    mapping, field, f"'{segment.name}' in '{text}' is not a list", f"remove [{segment.index}]"
                )
                return None
            resolved = resolved.element()
        current = resolved
    return path, current


def _incompatible(source: ResolvedType, target: ResolvedType) -> str | None:
    if source.array != target.array:
        return "a list cannot be mapped to a single value" if source.array else "one value cannot be mapped to a list"
    if source.structure is not None or target.structure is not None:
        if source.structure is None or target.structure is None:
            return "a structure and a scalar do not map onto each other"
        if source.structure.name != target.structure.name:
            return "the structures differ; map their fields one by one"
        return None
    assert source.scalar is not None and target.scalar is not None
    return _scalar_incompatible(source.scalar, target.scalar)


def _scalar_incompatible(source: ScalarType, target: ScalarType) -> str | None:
    s, t = source.category, target.category
    if s == t:
        if _longer(source, target):
            return f"{source.max_length} characters do not fit into {target.max_length}"
        if _wider(source, target):
            return f"{source.name} values do not fit into {target.name}"
        if _more_digits(source, target):
            return f"{source} values do not fit into {target}"
        return None
    if s == Category.INTEGER and t == Category.DECIMAL:
        return None
    if s == Category.DATETIME and target.name in ("DATS", "TIMS"):
        return None  # written as YYYYMMDD / HHMMSS
    if source.name == "DATS" and t == Category.DATETIME:
        return None
    if s in (Category.INTEGER, Category.DECIMAL) and t == Category.TEXT:
        return None
    return f"{s.value} does not convert to {t.value}"


def _longer(source: ScalarType, target: ScalarType) -> bool:
    if source.category not in (Category.TEXT, Category.BINARY) or target.max_length is None:
        return False
    return source.max_length is not None and source.max_length > target.max_length


def _wider(source: ScalarType, target: ScalarType) -> bool:
    if source.name not in INTEGER_RANGES or target.name not in INTEGER_RANGES:
        return False
    return INTEGER_RANGES[source.name][1] > INTEGER_RANGES[target.name][1]


def _more_digits(source: ScalarType, target: ScalarType) -> bool:
    if source.name != "DEC" or target.name != "DEC" or source.length is None or target.length is None:
        return False
    source_scale, target_scale = source.decimals or 0, target.decimals or 0
    return source.length - source_scale > target.length - target_scale or source_scale > target_scale


def _check_constant(checker: Checker, mapping: Mapping, target: ResolvedType) -> None:
    value = mapping.value or ""
    if target.array or target.scalar is None:
        checker.error(
            mapping,
            "value",
            f"a value cannot be assigned to '{mapping.to}' ({target.describe()})",
            "assign values to single scalar fields, e.g. ...[0].MESTYP",
        )
        return
    problem = _constant_problem(value, target.scalar)
    if problem:
        checker.error(mapping, "value", f"value '{value}' does not fit '{mapping.to}' ({target.scalar}): {problem}")


def _constant_problem(value: str, scalar: ScalarType) -> str | None:
    name = scalar.name
    if scalar.category == Category.TEXT:
        if scalar.max_length is not None and len(value) > scalar.max_length:
            return f"it has {len(value)} characters, the field holds {scalar.max_length}"
        if name == "NUMC" and not re.fullmatch("[0-9]*", value):
            return "NUMC holds digits only"
        if name == "DATS" and not _valid_moment(value, "%Y%m%d", 8):
            return "DATS is a date written YYYYMMDD"
        if name == "TIMS" and not _valid_moment(value, "%H%M%S", 6):
            return "TIMS is a time written HHMMSS"
        return None
    if scalar.category == Category.INTEGER:
        if not re.fullmatch("-?[0-9]+", value):
            return "not a whole number"
        low, high = INTEGER_RANGES.get(name, (-(2**63), 2**63 - 1))
        return None if low <= int(value) <= high else f"{name} holds {low} to {high}"
    if scalar.category == Category.DECIMAL:
        match = re.fullmatch(r"-?([0-9]+)(?:\.([0-9]+))?", value)
        if match is None:
            return "not a decimal number"
        if name == "DEC" and scalar.length is not None:
            scale = scalar.decimals or 0
            whole, fraction = match.group(1).lstrip("0"), match.group(2) or ""
            if len(whole) > scalar.length - scale or len(fraction.rstrip("0")) > scale:
                before = scalar.length - scale
                digits = "digit" if before == 1 else "digits"
                return f"DEC({scalar.length},{scale}) holds {before} {digits} before the point and {scale} after"
        return None
    if scalar.category == Category.BOOLEAN:
        return None if value in ("true", "false") else "write true or false"
    return f"values of type {name} cannot be written as constants"


def _valid_moment(value: str, form: str, length: int) -> bool:
    if not re.fullmatch(f"[0-9]{{{length}}}", value):
        return False
    if value == "0" * length:
        return True  # SAP's initial value
    try:
        dt.datetime.strptime(value, form)
    except ValueError:
        return False
    return True


def _check_targets(checker: Checker, targets: list[tuple[Mapping, Path]], row_sources: set[str]) -> None:
    for position, (mapping, path) in enumerate(targets):
        for earlier, earlier_path in targets[:position]:
            if earlier_path.covers(path) or path.covers(earlier_path):
                where = earlier.location("to")
                line = f" at line {where.line}" if where else ""
                checker.error(
                    mapping,
                    "to",
                    f"'{mapping.to}' overlaps '{earlier.to}'{line}",
                    "set each target once: remove one of the two mappings",
                )
                break
        prefix = path.prefix_through_last_wildcard()
        if mapping.value is not None and prefix and prefix not in row_sources:
            checker.error(
                mapping,
                "to",
                f"nothing maps a list onto '{prefix}', so '{mapping.to}' has no rows to fill",
                f"add a mapping from a list to a field of {prefix}, or use an index such as [0]",
            )
