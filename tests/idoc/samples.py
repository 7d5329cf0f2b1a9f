"""A small synthetic IDoc type, ZTEST01, as parser-file text, and data records for it.

Z1HEAD   01  mandatory 1..1    DOCNO CHAR 10, COUNT NUMERIC 5
Z1NOTE   02  optional  1..3    NOTE CHAR 20 (qualified)
group 1  02  mandatory 1..2
  Z1ITEM   02  mandatory 1..1  POSNR NUMERIC 6, MATNR CHAR 18
    Z1SCHED  03  mandatory 2..3  QTY NUMERIC 5
    group 2  03  optional 1..2
      Z1TEXT   03  mandatory 1..1  TDID CHAR 4
        Z1TLINE  04  optional 1..9   TLINE CHAR 40
Z1SUM    02  optional  1..1    TOTAL CHAR 15
"""

from __future__ import annotations


def field(name: str, kind: str, length: int, position: int, first: int, text: str = "") -> str:
    """The lines of one field in the current (CHARACTER_FIRST) format."""
    return (
        f"        NAME                {name}\n"
        f"        TEXT                {text or name.title()}\n"
        f"        TYPE                {kind}\n"
        f"        LENGTH              {length:06d}\n"
        f"        FIELD_POS           {position:04d}\n"
        f"        CHARACTER_FIRST     {first:06d}\n"
        f"        CHARACTER_LAST      {first + length - 1:06d}\n"
        "\n"
    )


def segment(definition: str, kind: str, level: int, status: str, loops: tuple[int, int], fields: str) -> str:
    """One BEGIN_SEGMENT ... END_SEGMENT block (without children)."""
    return (
        f"    BEGIN_SEGMENT       {definition}\n"
        f"      SEGMENTTYPE         {kind}\n"
        f"      LEVEL               {level:02d}\n"
        f"      STATUS              {status}\n"
        f"      LOOPMIN             {loops[0]:010d}\n"
        f"      LOOPMAX             {loops[1]:010d}\n"
        "      BEGIN_FIELDS\n"
        f"{fields}"
        "      END_FIELDS\n"
        "    END_SEGMENT\n"
    )


def group(number: int, level: int, status: str, loops: tuple[int, int], body: str) -> str:
    """One BEGIN_GROUP ... END_GROUP block."""
    return (
        f"    BEGIN_GROUP         {number}\n"
        f"      LEVEL               {level:02d}\n"
        f"      STATUS              {status}\n"
        f"      LOOPMIN             {loops[0]:010d}\n"
        f"      LOOPMAX             {loops[1]:010d}\n"
        f"{body}"
        "    END_GROUP\n"
    )


ZTEST01 = (
    "BEGIN_SEGMENT_SECTION\n"
    "  BEGIN_IDOC          ZTEST01\n"
    + segment(
        "Z2HEAD001",
        "Z1HEAD",
        1,
        "MANDATORY",
        (1, 1),
        field("DOCNO", "CHARACTER", 10, 1, 64) + field("COUNT", "NUMERIC", 5, 2, 74),
    )
    + segment("Z2NOTE", "Z1NOTE", 2, "OPTIONAL", (1, 3), field("NOTE", "CHARACTER", 20, 1, 64)).replace(
        "      LEVEL", "      QUALIFIED\n      LEVEL", 1
    )
    + group(
        1,
        2,
        "MANDATORY",
        (1, 2),
        segment(
            "Z2ITEM002",
            "Z1ITEM",
            2,
            "MANDATORY",
            (1, 1),
            field("POSNR", "NUMERIC", 6, 1, 64) + field("MATNR", "CHARACTER", 18, 2, 70),
        )
        + segment("Z2SCHED", "Z1SCHED", 3, "MANDATORY", (2, 3), field("QTY", "NUMERIC", 5, 1, 64))
        + group(
            2,
            3,
            "OPTIONAL",
            (1, 2),
            segment("Z2TEXT", "Z1TEXT", 3, "MANDATORY", (1, 1), field("TDID", "CHARACTER", 4, 1, 64))
            + segment("Z2TLINE", "Z1TLINE", 4, "OPTIONAL", (1, 9), field("TLINE", "CHARACTER", 40, 1, 64)),
        ),
    )
    + segment("Z2SUM", "Z1SUM", 2, "OPTIONAL", (1, 1), field("TOTAL", "CHARACTER", 15, 1, 64))
    + "  END_IDOC\n"
    "END_SEGMENT_SECTION\n"
)
"""Parser-file text of ZTEST01 (LF line ends)."""


def line_of(text: str, content: str, occurrence: int = 1) -> int:
    """The 1-based number of the line reading ``content`` with blanks collapsed (its n-th occurrence)."""
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if " ".join(line.split()) == content]
    return numbers[occurrence - 1]


def record(segnam: str, sdata: str = "", segnum: str = "", psgnum: str = "", hlevel: str = "") -> dict[str, str]:
    """A data record with the keys validate_idoc reads."""
    return {"SEGNAM": segnam, "SEGNUM": segnum, "PSGNUM": psgnum, "HLEVEL": hlevel, "SDATA": sdata}


def valid_records() -> list[dict[str, str]]:
    """A complete, valid ZTEST01 IDoc with SEGNUM, PSGNUM and HLEVEL filled as SAP fills them."""
    rows = [
        ("Z2HEAD001", "0000004711" + "00002", 0, 1),
        ("Z2NOTE", "first note", 0, 2),
        ("Z2ITEM002", "000010" + "MAT-1", 0, 2),
        ("Z2SCHED", "00005", 3, 3),
        ("Z2SCHED", "00007", 3, 3),
        ("Z2TEXT", "0001", 3, 3),
        ("Z2TLINE", "a text line", 6, 4),
        ("Z2ITEM002", "000020" + "MAT-2", 0, 2),
        ("Z2SCHED", "00001", 8, 3),
        ("Z2SCHED", "00002", 8, 3),
        ("Z2SUM", "42", 0, 2),
    ]
    return [record(name, sdata, f"{n:06d}", f"{parent:06d}", f"{level:02d}") for n, (name, sdata, parent, level)
            in enumerate(rows, start=1)]  # fmt: skip
