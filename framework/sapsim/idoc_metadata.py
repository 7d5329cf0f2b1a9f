"""IDOCTYPE_READ_COMPLETE: the segment metadata of the IDoc types the simulator knows.

Answers as SAP does, with the structures EDI_IAPI00 (PE_HEADER), EDI_IAPI01 (PT_SEGMENTS) and
EDI_IAPI02 (PT_FIELDS), filling the fields that describe structure and layout.
"""

from __future__ import annotations

from typing import Any

from idocbridge.idoc.metadata import SDATA_START, GroupDefinition, IDocType, SegmentDefinition
from idocbridge.sapsim.functions import AbapError, CallContext, Parameter, function_module

__all__: list[str] = []

_DATATYPES = {"CHARACTER": "CHAR", "NUMERIC": "NUMC", "NUMC": "NUMC", "DATE": "DATS", "TIME": "TIMS"}


def _segments(idoc_type: IDocType) -> list[dict[str, Any]]:
    numbers = {segment.segment_type: number for number, segment in enumerate(idoc_type.iter_segments(), start=1)}
    rows = []
    for segment in idoc_type.iter_segments():
        path = idoc_type.path(segment.segment_type)
        parents = [node for node in path[:-1] if isinstance(node, SegmentDefinition)]
        parent = parents[-1] if parents else None
        group = path[-2] if len(path) >= 2 and isinstance(path[-2], GroupDefinition) else None
        rows.append(
            {
                "NR": numbers[segment.segment_type],
                "SEGMENTTYP": segment.segment_type,
                "SEGMENTDEF": segment.definition_name,
                "QUALIFIER": "X" if segment.qualified else "",
                "SEGLEN": segment.sdata_length,
                "PARSEG": parent.segment_type if parent else "",
                "PARPNO": numbers[parent.segment_type] if parent else 0,
                "PARFLG": "X" if segment.children else "",
                "MUSTFL": "X" if segment.mandatory else "",
                "OCCMIN": segment.min_occurs,
                "OCCMAX": segment.max_occurs,
                "HLEVEL": f"{segment.level:02d}",
                "GRP_MUSTFL": "X" if group and group.mandatory else "",
                "GRP_OCCMIN": group.min_occurs if group else 0,
                "GRP_OCCMAX": group.max_occurs if group else 0,
            }
        )
    return rows


def _fields(idoc_type: IDocType) -> list[dict[str, Any]]:
    return [
        {
            "SEGMENTTYP": segment.segment_type,
            "FIELDNAME": field.name,
            "INTLEN": field.length,
            "EXTLEN": field.length,
            "FIELD_POS": field.position,
            "BYTE_FIRST": SDATA_START + field.offset,
            "BYTE_LAST": SDATA_START + field.end - 1,
            "DATATYPE": _DATATYPES.get(field.type, field.type),
            "DESCRP": field.text,
        }
        for segment in idoc_type.iter_segments()
        for field in segment.fields
    ]


@function_module(
    "IDOCTYPE_READ_COMPLETE",
    parameters=[
        Parameter("I", "PI_IDOCTYP", "CHAR(30)"),
        Parameter("I", "PI_CIMTYP", "CHAR(30)", optional=True),
        Parameter("I", "PI_RELEASE", "CHAR(4)", optional=True),
        Parameter("E", "PE_HEADER", "EDI_IAPI00"),
        Parameter("T", "PT_SEGMENTS", "EDI_IAPI01"),
        Parameter("T", "PT_FIELDS", "EDI_IAPI02"),
    ],
    text="Segment metadata of a basic type (and extension)",
)
def idoctype_read_complete(context: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("PI_IDOCTYP") or "").strip()
    extension = str(params.get("PI_CIMTYP") or "").strip()
    wanted = extension or name
    if not name or wanted not in context.idoc_types:
        raise AbapError("OBJECT_UNKNOWN", f"IDoc type {wanted or '(none)'} is not known in this system")
    idoc_type = context.idoc_types.get(wanted)
    header = {
        "IDOCTYP": idoc_type.name,
        "CIMTYP": idoc_type.extension or "",
        "RELEASED": idoc_type.release or "",
        "DESCRP": f"IDoc type {idoc_type.label}",
    }
    return {"PE_HEADER": header, "PT_SEGMENTS": _segments(idoc_type), "PT_FIELDS": _fields(idoc_type)}
