"""DDIC layouts of the simulator's types, as RFC lays them out: Unicode offsets, lengths, alignment.

One source of truth for the codec, RFC_GET_FUNCTION_INTERFACE and DDIF_FIELDINFO_GET: structures
come from the models' built-in structures (EDI_DC40, EDI_DD40, ...), from the system structures
below, which RFC's own function modules and RFC_SYSTEM_INFO use, and from the IDoc database
structures (EDIDC, EDIDD, EDIDS) the IDoc monitoring functions return. Fields are laid out at their
Unicode byte offsets: character types take two bytes per character and align to 2, INT2 to 2,
INT4 to 4, INT8 and FLTP to 8; a structure aligns to its largest field alignment. Rows travel at
the packed width (the end of the last field); tables declare the width rounded up to the alignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from saprfclib import codec
from saprfclib.types import FieldDesc, TypeDesc

from idocbridge.models.builtins import builtin_structures
from idocbridge.models.ddic import ScalarType, TypeSyntaxError, parse_scalar_type

__all__ = ["Layout", "ScalarLayout", "UnknownTypeError", "layout", "scalar_layout", "structure_names"]


class UnknownTypeError(LookupError):
    """A type name that is neither a DDIC scalar type nor a structure the simulator knows."""


@dataclass(frozen=True)
class ScalarLayout:
    """How one scalar type travels: RFC type, Unicode bytes, alignment and its DDIC descriptions."""

    rfctype: int
    uc_length: int
    nuc_length: int
    alignment: int
    decimals: int
    exid: str
    datatype: str
    leng: int
    """DDIC LENG: characters for character types, digits for numbers, bytes for RAW."""


def _chars(rfctype: int, exid: str, datatype: str, characters: int) -> ScalarLayout:
    return ScalarLayout(rfctype, 2 * characters, characters, 2, 0, exid, datatype, characters)


def scalar_layout(scalar: ScalarType) -> ScalarLayout:
    """The layout of a DDIC scalar type (base types of SOAP models map to their closest DDIC type)."""
    name, length = scalar.name, scalar.length or 0
    match name:
        case "CHAR":
            return _chars(codec.RFCTYPE_CHAR, "C", "CHAR", length)
        case "NUMC":
            return _chars(codec.RFCTYPE_NUM, "N", "NUMC", length)
        case "DATS" | "Date":
            return _chars(codec.RFCTYPE_DATE, "D", "DATS", 8)
        case "TIMS":
            return _chars(codec.RFCTYPE_TIME, "T", "TIMS", 6)
        case "INT1":
            return ScalarLayout(codec.RFCTYPE_INT1, 1, 1, 1, 0, "b", "INT1", 3)
        case "INT2":
            return ScalarLayout(codec.RFCTYPE_INT2, 2, 2, 2, 0, "s", "INT2", 5)
        case "INT4" | "Integer":
            return ScalarLayout(codec.RFCTYPE_INT, 4, 4, 4, 0, "I", "INT4", 10)
        case "INT8":
            return ScalarLayout(codec.RFCTYPE_INT8, 8, 8, 8, 0, "8", "INT8", 19)
        case "FLTP" | "Float":
            return ScalarLayout(codec.RFCTYPE_FLOAT, 8, 8, 8, 0, "F", "FLTP", 16)
        case "DEC":
            size = (length + 2) // 2
            return ScalarLayout(codec.RFCTYPE_BCD, size, size, 1, scalar.decimals or 0, "P", "DEC", length)
        case "RAW":
            return ScalarLayout(codec.RFCTYPE_BYTE, length, length, 1, 0, "X", "RAW", length)
        case "STRING" | "String":
            return ScalarLayout(codec.RFCTYPE_STRING, 8, 8, 8, 0, "g", "STRG", 0)
        case "XSTRING" | "Blob":
            return ScalarLayout(codec.RFCTYPE_XSTRING, 8, 8, 8, 0, "y", "RSTR", 0)
    raise UnknownTypeError(f"type {scalar} has no RFC representation in the simulator")


# System structures: (field, type) in order. Widths follow the rows both client libraries read.
_SYSTEM_STRUCTURES: dict[str, tuple[tuple[str, str], ...]] = {
    "RFC_FUNINT": (
        ("PARAMCLASS", "CHAR(1)"), ("PARAMETER", "CHAR(30)"), ("TABNAME", "CHAR(30)"), ("FIELDNAME", "CHAR(30)"),
        ("EXID", "CHAR(1)"), ("POSITION", "INT4"), ("OFFSET", "INT4"), ("INTLENGTH", "INT4"),
        ("DECIMALS", "INT4"), ("DEFAULT", "CHAR(21)"), ("PARAMTEXT", "CHAR(79)"), ("OPTIONAL", "CHAR(1)"),
    ),
    "RSEXC": (("EXCEPTION", "CHAR(30)"), ("ALLOWED", "CHAR(1)")),
    "DFIES": (
        ("TABNAME", "CHAR(30)"), ("FIELDNAME", "CHAR(30)"), ("LANGU", "CHAR(1)"), ("POSITION", "NUMC(4)"),
        ("OFFSET", "NUMC(6)"), ("DOMNAME", "CHAR(30)"), ("ROLLNAME", "CHAR(30)"), ("CHECKTABLE", "CHAR(30)"),
        ("LENG", "NUMC(6)"), ("INTLEN", "NUMC(6)"), ("OUTPUTLEN", "NUMC(6)"), ("DECIMALS", "NUMC(6)"),
        ("DATATYPE", "CHAR(4)"), ("INTTYPE", "CHAR(1)"), ("REPTEXT", "CHAR(55)"), ("SCRTEXT_S", "CHAR(10)"),
        ("SCRTEXT_M", "CHAR(20)"), ("SCRTEXT_L", "CHAR(40)"), ("KEYFLAG", "CHAR(1)"), ("LOWERCASE", "CHAR(1)"),
        ("MAC", "CHAR(1)"), ("GENKEY", "CHAR(1)"), ("NOFORKEY", "CHAR(1)"), ("VALEXI", "CHAR(1)"),
        ("NOAUTHCH", "CHAR(1)"), ("SIGN", "CHAR(1)"), ("DYNPFLD", "CHAR(1)"), ("F4AVAILABL", "CHAR(1)"),
        ("COMPTYPE", "CHAR(1)"), ("LFIELDNAME", "CHAR(132)"), ("LTRFLDDIS", "CHAR(1)"), ("BIDICTRLC", "CHAR(1)"),
        ("OUTPUTSTYLE", "NUMC(2)"), ("NOHISTORY", "CHAR(1)"), ("AMPMFORMAT", "CHAR(1)"),
        ("RESERVE", "CHAR(211)"),
    ),
    "DDFIXVALUE": (
        ("LOW", "CHAR(10)"), ("HIGH", "CHAR(10)"), ("OPTION", "CHAR(2)"), ("DDLANGUAGE", "CHAR(1)"),
        ("DDTEXT", "CHAR(60)"),
    ),
    "X030L_FIELD": (
        ("TABNAME", "CHAR(30)"), ("FIELDNAME", "CHAR(30)"), ("POSITION", "INT4"), ("OFFSET", "INT4"),
        ("INTLENGTH", "INT4"), ("DECIMALS", "INT4"), ("EXID", "CHAR(1)"),
    ),
    "RFCSI": (
        ("RFCPROTO", "CHAR(3)"), ("RFCCHARTYP", "CHAR(4)"), ("RFCINTTYP", "CHAR(3)"), ("RFCFLOTYP", "CHAR(3)"),
        ("RFCDEST", "CHAR(32)"), ("RFCHOST", "CHAR(8)"), ("RFCSYSID", "CHAR(8)"), ("RFCDATABS", "CHAR(8)"),
        ("RFCDBHOST", "CHAR(32)"), ("RFCDBSYS", "CHAR(10)"), ("RFCSAPRL", "CHAR(4)"), ("RFCMACH", "CHAR(5)"),
        ("RFCOPSYS", "CHAR(10)"), ("RFCTZONE", "CHAR(6)"), ("RFCDAYST", "CHAR(1)"), ("RFCIPADDR", "CHAR(15)"),
        ("RFCKERNRL", "CHAR(4)"), ("RFCHOST2", "CHAR(32)"), ("RFCSI_RESV", "CHAR(12)"),
        ("RFCIPV6ADDR", "CHAR(45)"),
    ),
    "EDI_IAPI00": (
        ("IDOCTYP", "CHAR(30)"), ("CIMTYP", "CHAR(30)"), ("RELEASED", "CHAR(4)"), ("APPLREL", "CHAR(4)"),
        ("PRETYP", "CHAR(30)"), ("DESCRP", "CHAR(60)"), ("CLOSED", "CHAR(1)"), ("GENERATED", "CHAR(1)"),
    ),
    "EDI_IAPI01": (
        ("NR", "NUMC(4)"), ("SEGMENTTYP", "CHAR(30)"), ("SEGMENTDEF", "CHAR(30)"), ("QUALIFIER", "CHAR(1)"),
        ("SEGLEN", "NUMC(4)"), ("PARSEG", "CHAR(30)"), ("PARPNO", "NUMC(4)"), ("PARFLG", "CHAR(1)"),
        ("MUSTFL", "CHAR(1)"), ("OCCMIN", "NUMC(10)"), ("OCCMAX", "NUMC(10)"), ("HLEVEL", "NUMC(2)"),
        ("DESCRP", "CHAR(60)"), ("GRP_MUSTFL", "CHAR(1)"), ("GRP_OCCMIN", "NUMC(10)"), ("GRP_OCCMAX", "NUMC(10)"),
        ("REFSEGTYP", "CHAR(30)"),
    ),
    "EDI_IAPI02": (
        ("SEGMENTTYP", "CHAR(30)"), ("FIELDNAME", "CHAR(30)"), ("INTLEN", "NUMC(6)"), ("EXTLEN", "NUMC(6)"),
        ("FIELD_POS", "NUMC(4)"), ("BYTE_FIRST", "NUMC(6)"), ("BYTE_LAST", "NUMC(6)"), ("ROLLNAME", "CHAR(30)"),
        ("DOMNAME", "CHAR(30)"), ("DATATYPE", "CHAR(4)"), ("DESCRP", "CHAR(60)"), ("ISOCODE", "CHAR(1)"),
        ("VALUETAB", "CHAR(30)"),
    ),
    "ARFCSSTATE": (
        ("ARFCIPID", "CHAR(8)"), ("ARFCPID", "CHAR(4)"), ("ARFCTIME", "CHAR(8)"), ("ARFCTIDCNT", "CHAR(4)"),
        ("ARFCDEST", "CHAR(32)"), ("ARFCLUWCNT", "CHAR(8)"), ("ARFCSTATE", "CHAR(8)"), ("ARFCFNAM", "CHAR(30)"),
        ("ARFCRETURN", "CHAR(1)"), ("ARFCUZEIT", "TIMS"), ("ARFCDATUM", "DATS"), ("ARFCUSER", "CHAR(12)"),
        ("ARFCTCODE", "CHAR(20)"), ("ARFCRHOST", "CHAR(32)"), ("ARFCREPORT", "CHAR(40)"),
        ("ARFCMSG", "CHAR(128)"), ("ARFCRESERV", "CHAR(117)"), ("ARFCHASH", "RAW(40)"),
    ),
    "ARFCSDATA": (
        ("ARFCIPID", "CHAR(8)"), ("ARFCPID", "CHAR(4)"), ("ARFCTIME", "CHAR(8)"), ("ARFCTIDCNT", "CHAR(4)"),
        ("ARFCDEST", "CHAR(32)"), ("ARFCBLCNT", "NUMC(8)"), ("ARFCLEN", "RAW(4)"), ("ARFCDATA", "RAW(1786)"),
    ),
}  # fmt: skip


# The IDoc database structures (SE11: EDIDC, EDIDD, EDIDS), as IDOC_READ_COMPLETELY returns them, and the
# simulator's own row of INBOUND_IDOCS_FOR_TID. CLNT fields (MANDT, RCVSMN, SNDSMN) travel as CHAR 3;
# LCHR SDATA as CHAR 1000. Newer releases add _DATAAGING (DATS) to EDIDC and EDIDS; it is left out.
_IDOC_STRUCTURES: dict[str, tuple[tuple[str, str], ...]] = {
    "EDIDC": (
        ("MANDT", "CHAR(3)"), ("DOCNUM", "NUMC(16)"), ("DOCREL", "CHAR(4)"), ("STATUS", "CHAR(2)"),
        ("DOCTYP", "CHAR(8)"), ("DIRECT", "CHAR(1)"), ("RCVPOR", "CHAR(10)"), ("RCVPRT", "CHAR(2)"),
        ("RCVPRN", "CHAR(10)"), ("RCVSAD", "CHAR(10)"), ("RCVSMN", "CHAR(3)"), ("RCVSNA", "CHAR(1)"),
        ("RCVSCA", "CHAR(3)"), ("RCVSDF", "CHAR(1)"), ("RCVSLF", "CHAR(3)"), ("RCVLAD", "CHAR(70)"),
        ("STD", "CHAR(1)"), ("STDVRS", "CHAR(6)"), ("STDMES", "CHAR(6)"), ("MESCOD", "CHAR(3)"),
        ("MESFCT", "CHAR(3)"), ("OUTMOD", "CHAR(1)"), ("TEST", "CHAR(1)"), ("SNDPOR", "CHAR(10)"),
        ("SNDPRT", "CHAR(2)"), ("SNDPRN", "CHAR(10)"), ("SNDSAD", "CHAR(10)"), ("SNDSMN", "CHAR(3)"),
        ("SNDSNA", "CHAR(1)"), ("SNDSCA", "CHAR(3)"), ("SNDSDF", "CHAR(1)"), ("SNDSLF", "CHAR(3)"),
        ("SNDLAD", "CHAR(70)"), ("REFINT", "CHAR(14)"), ("REFGRP", "CHAR(14)"), ("REFMES", "CHAR(14)"),
        ("ARCKEY", "CHAR(70)"), ("CREDAT", "DATS"), ("CRETIM", "TIMS"), ("MESTYP", "CHAR(30)"),
        ("IDOCTP", "CHAR(30)"), ("CIMTYP", "CHAR(30)"), ("RCVPFC", "CHAR(2)"), ("SNDPFC", "CHAR(2)"),
        ("SERIAL", "CHAR(20)"), ("EXPRSS", "CHAR(1)"), ("UPDDAT", "DATS"), ("UPDTIM", "TIMS"),
        ("MAXSEGNUM", "NUMC(6)"),
    ),
    "EDIDD": (
        ("MANDT", "CHAR(3)"), ("DOCNUM", "NUMC(16)"), ("SEGNUM", "NUMC(6)"), ("SEGNAM", "CHAR(30)"),
        ("PSGNUM", "NUMC(6)"), ("HLEVEL", "NUMC(2)"), ("DTINT2", "INT2"), ("SDATA", "CHAR(1000)"),
    ),
    "EDIDS": (
        ("MANDT", "CHAR(3)"), ("DOCNUM", "NUMC(16)"), ("LOGDAT", "DATS"), ("LOGTIM", "TIMS"),
        ("COUNTR", "NUMC(16)"), ("CREDAT", "DATS"), ("CRETIM", "TIMS"), ("STATUS", "CHAR(2)"),
        ("UNAME", "CHAR(12)"), ("REPID", "CHAR(30)"), ("ROUTID", "CHAR(30)"), ("STACOD", "CHAR(8)"),
        ("STATXT", "CHAR(70)"), ("SEGNUM", "NUMC(6)"), ("SEGFLD", "CHAR(30)"), ("STAPA1", "CHAR(50)"),
        ("STAPA2", "CHAR(50)"), ("STAPA3", "CHAR(50)"), ("STAPA4", "CHAR(50)"), ("STATYP", "CHAR(1)"),
        ("STAMQU", "CHAR(3)"), ("STAMID", "CHAR(20)"), ("STAMNO", "NUMC(3)"), ("TID", "CHAR(24)"),
        ("APPL_LOG", "CHAR(20)"),
    ),
    "ZSIM_IDOC_NUMBER": (("DOCNUM", "NUMC(16)"),),
}  # fmt: skip


@cache
def _structure_fields() -> dict[str, tuple[tuple[str, str], ...]]:
    fields = {
        structure.name: tuple((field.name, field.type) for field in structure.fields)
        for structure in builtin_structures()
        if not any(field.array for field in structure.fields)
    }
    return fields | _SYSTEM_STRUCTURES | _IDOC_STRUCTURES


def structure_names() -> list[str]:
    """Every flat structure the simulator can describe and carry over RFC."""
    return sorted(_structure_fields())


@dataclass(frozen=True)
class FieldLayout:
    """One field of a structure at its place: the scalar layout and the Unicode byte offset."""

    name: str
    position: int
    offset: int
    scalar: ScalarLayout | None
    structure: Layout | None

    @property
    def uc_length(self) -> int:
        if self.structure is not None:
            return self.structure.uc_size
        assert self.scalar is not None
        return self.scalar.uc_length


@dataclass(frozen=True)
class Layout:
    """A flat or nested structure: its fields at their offsets, packed size and alignment."""

    name: str
    fields: tuple[FieldLayout, ...]
    uc_size: int
    alignment: int

    @property
    def declared_width(self) -> int:
        """The row width a table of this structure declares (packed size rounded up to the alignment)."""
        return -(-self.uc_size // self.alignment) * self.alignment

    def type_desc(self) -> TypeDesc:
        """saprfclib's descriptor of this layout."""
        return _type_desc(self.name)


def _align(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


@cache
def layout(name: str) -> Layout:
    """The layout of structure ``name``; UnknownTypeError if the simulator does not know it."""
    definition = _structure_fields().get(name)
    if definition is None:
        raise UnknownTypeError(f"structure {name} is not known to the simulator")
    fields, offset, alignment = [], 0, 2
    for position, (field_name, expression) in enumerate(definition, start=1):
        scalar, nested = _resolve(expression)
        field_alignment = nested.alignment if nested is not None else scalar.alignment if scalar else 1
        offset = _align(offset, field_alignment)
        field = FieldLayout(field_name, position, offset, scalar, nested)
        fields.append(field)
        offset += field.uc_length
        alignment = max(alignment, field_alignment)
    return Layout(name, tuple(fields), offset, alignment)


def _resolve(expression: str) -> tuple[ScalarLayout | None, Layout | None]:
    try:
        scalar = parse_scalar_type(expression)
    except TypeSyntaxError as exc:
        raise UnknownTypeError(f"type {expression} is not valid: {exc.message}") from exc
    if scalar is not None:
        return scalar_layout(scalar), None
    return None, layout(expression)


@cache
def _type_desc(name: str) -> TypeDesc:
    structure = layout(name)
    return TypeDesc(name, [_field_desc(field) for field in structure.fields], structure.uc_size, structure.uc_size)


def _field_desc(field: FieldLayout) -> FieldDesc:
    if field.structure is not None:
        size = field.structure.uc_size
        return FieldDesc(
            field.name, codec.RFCTYPE_STRUCTURE, size, field.offset, size, field.offset, 0,
            type_desc=field.structure.type_desc(),
        )  # fmt: skip
    assert field.scalar is not None
    scalar = field.scalar
    return FieldDesc(
        field.name, scalar.rfctype, scalar.nuc_length, field.offset, scalar.uc_length, field.offset, scalar.decimals
    )
