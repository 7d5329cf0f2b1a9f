"""TXTRAW01, the basic type of message type TXTRAW (raw text lines), built in so no parser file is needed.

TXTRAW01 has one segment type, E1TXTRW, with one field, TLINE (CHAR 72) at SDATA offset 0 (SAP-FACTS §4).
The attributes chosen follow what SAP's parser files write for a repeating top-level segment:

- definition name ``E2TXTRW`` without a release suffix (the segment has a single release);
- LEVEL 02 (parser files give repeating top-level segments level 02), so HLEVEL ``02`` in data records;
- STATUS MANDATORY, LOOPMIN 1, LOOPMAX 99999: an IDoc carries at least one text line;
- not QUALIFIED; TYPE CHARACTER, as parser files write CHAR fields.
"""

from __future__ import annotations

from idocbridge.idoc.metadata import FieldDefinition, IDocType, SegmentDefinition

__all__ = ["TXTRAW01", "TXTRAW_LINE_LENGTH", "TXTRAW_MESSAGE_TYPE", "txtraw_records"]

TXTRAW_MESSAGE_TYPE = "TXTRAW"
"""The message type (MESTYP) of TXTRAW01 IDocs."""

TXTRAW_LINE_LENGTH = 72
"""Characters of one text line (field TLINE)."""

TXTRAW01 = IDocType(
    name="TXTRAW01",
    extension=None,
    segments=(
        SegmentDefinition(
            definition_name="E2TXTRW",
            segment_type="E1TXTRW",
            level=2,
            mandatory=True,
            min_occurs=1,
            max_occurs=99999,
            fields=(FieldDefinition("TLINE", "Text line", "CHARACTER", TXTRAW_LINE_LENGTH, 1, 0),),
        ),
    ),
)
"""The built-in TXTRAW01 IDoc type."""


def txtraw_records(lines: list[str]) -> list[dict[str, str]]:
    """Data records (SEGNAM, SEGNUM, PSGNUM, HLEVEL, SDATA) of a TXTRAW01 IDoc, one per text line.

    Lines longer than 72 characters are not cut: :func:`~idocbridge.idoc.validation.validate_idoc` reports them.
    """
    return [
        {"SEGNAM": "E1TXTRW", "SEGNUM": f"{number:06d}", "PSGNUM": "000000", "HLEVEL": "02", "SDATA": line}
        for number, line in enumerate(lines, start=1)
    ]
