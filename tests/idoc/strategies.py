"""Hypothesis strategies: random valid IDoc documents of an IDoc type, generated from its metadata."""

from __future__ import annotations

from hypothesis import strategies as st

from idocbridge.idoc import FieldDefinition, GroupDefinition, IDoc, IDocType, Node, Segment, SegmentDefinition

MAX_REPEAT = 2
"""Occurrences above LOOPMIN are capped here (LOOPMAX is often 9999999999)."""

# Printable text: letters (incl. non-ASCII such as 'ü' or '東'), digits, punctuation, symbols and
# blanks (incl. no-break spaces); no control characters and no line or paragraph separators.
_CHARACTERS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))


@st.composite
def field_value(draw: st.DrawFn, definition: FieldDefinition) -> str:
    """A value that fits the field: full-width digits for NUMERIC fields, else printable text with
    possibly leading blanks and no trailing ones."""
    if definition.is_numeric:
        # full width: '42' in a NUMC(6) field would be '42    ' in SDATA, which is not a NUMC value
        return draw(st.text("0123456789", min_size=definition.length, max_size=definition.length))
    blanks = draw(st.integers(0, min(2, definition.length - 1)))
    body = draw(st.text(_CHARACTERS, min_size=1, max_size=definition.length - blanks))
    value = (" " * blanks + body).rstrip(" ")
    return value if value.strip(" ") else "x"


@st.composite
def segment_occurrence(draw: st.DrawFn, definition: SegmentDefinition) -> Segment:
    """One occurrence of a segment: some of its fields filled, and valid children."""
    fields: dict[str, str] = {}
    for field in definition.fields:
        if draw(st.booleans()):
            fields[field.name] = draw(field_value(field))
    return Segment(definition.segment_type, fields, draw(children_of(definition.children)))


def _occurrences(mandatory: bool, low: int, high: int) -> st.SearchStrategy[int]:
    upper = max(low, min(high, MAX_REPEAT))
    present = st.integers(low, upper)
    return present if mandatory else st.one_of(st.just(0), present)


@st.composite
def children_of(draw: st.DrawFn, nodes: tuple[Node, ...]) -> list[Segment]:
    """Occurrences of the nodes in metadata order, within LOOPMIN/LOOPMAX (capped at MAX_REPEAT)."""
    result: list[Segment] = []
    for node in nodes:
        if isinstance(node, GroupDefinition):
            count = draw(_occurrences(node.mandatory, node.min_occurs, node.max_occurs))
            result.extend(draw(segment_occurrence(node.head)) for _ in range(count))
        else:
            count = draw(_occurrences(node.mandatory, node.min_occurs, node.max_occurs))
            result.extend(draw(segment_occurrence(node)) for _ in range(count))
    return result


@st.composite
def idocs(draw: st.DrawFn, idoc_type: IDocType) -> IDoc:
    """A valid IDoc document of ``idoc_type`` with an inbound control record."""
    control = {
        "TABNAM": "EDI_DC40",
        "DOCNUM": draw(st.text("0123456789", min_size=16, max_size=16)),
        "DIRECT": "2",
        "IDOCTYP": idoc_type.name,
        "MESTYP": "ZMSG",
        "SNDPRT": "LS",
        "SNDPRN": draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10)),
        "RCVPRT": "LS",
        "RCVPRN": "ERPCLNT100",
    }
    if idoc_type.extension:
        control["CIMTYP"] = idoc_type.extension
    return IDoc(control, draw(children_of(idoc_type.segments)))
