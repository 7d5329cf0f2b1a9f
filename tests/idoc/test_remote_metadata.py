"""IDoc type metadata read from SAP with IDOCTYPE_READ_COMPLETE (against a simulator process), and its cache."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

import pytest

from idocbridge.connectors import ABAPApplicationError, Connector
from idocbridge.connectors.pool import ConnectionPool
from idocbridge.errors import IdocbridgeError
from idocbridge.idoc import (
    TXTRAW01,
    GroupDefinition,
    IDocType,
    IDocTypeCache,
    RemoteMetadataError,
    read_idoc_type,
    read_parser_file,
)
from idocbridge.idoc.remote import FUNCTION, idoc_type_from_answer
from idocbridge.sapsim.testing import SimulatorProcess
from tests.idoc.conftest import SAPIDOC, external

ORDERS05 = f"{SAPIDOC}/test/resources/ORDERS05.txt"


def sap_calls(sim: SimulatorProcess) -> int:
    """How many IDOCTYPE_READ_COMPLETE calls the simulator has answered since the last reset."""
    return sim.control.calls(FUNCTION)


def groups(idoc_type: IDocType) -> list[tuple[int, int, bool, int, int, str]]:
    found: list[tuple[int, int, bool, int, int, str]] = []

    def walk(nodes: tuple[Any, ...]) -> None:
        for node in nodes:
            if isinstance(node, GroupDefinition):
                found.append(
                    (node.number, node.level, node.mandatory, node.min_occurs, node.max_occurs, node.head.segment_type)
                )
            walk(node.children)

    walk(idoc_type.segments)
    return found


# -- through a connector -------------------------------------------------------------------------


def test_orders05_from_sap_equals_the_parser_file(sim: SimulatorProcess) -> None:
    parsed = read_parser_file(external(ORDERS05))
    with sim.connector() as sap:
        remote = read_idoc_type(sap, "ORDERS05", system="SIM")
    assert (remote.name, remote.extension) == ("ORDERS05", None)
    assert remote.segment_types == parsed.segment_types
    assert groups(remote) == groups(parsed)
    assert groups(remote)[:3] == [(1, 2, False, 1, 99, "E1EDKA1"), (2, 2, False, 1, 99, "E1EDKT1"),
                                  (3, 2, False, 1, 999999, "E1EDP01")]  # fmt: skip
    assert [s.fields for s in remote.iter_segments()] == [s.fields for s in parsed.iter_segments()]
    assert remote.segments == parsed.segments  # everything: levels, status, loops, qualifiers, fields
    action = remote.segment("E1EDK01")
    assert action is not None and action.definition_name == "E2EDK01005"
    field = action.field("ACTION")
    assert field is not None
    assert (field.type, field.length, field.position, field.offset) == ("CHARACTER", 3, 1, 0)


def test_txtraw01_from_sap_equals_the_builtin(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        remote = read_idoc_type(sap, "TXTRAW01")
    assert remote.segments == TXTRAW01.segments
    assert (remote.name, remote.extension) == (TXTRAW01.name, TXTRAW01.extension)


def test_an_unknown_type_raises_a_clear_error_naming_type_and_system(sim: SimulatorProcess) -> None:
    with sim.connector() as sap, pytest.raises(RemoteMetadataError) as raised:
        read_idoc_type(sap, "NOSUCH01", system="alias ERP_PROD")
    error = raised.value
    assert isinstance(error, IdocbridgeError)
    assert isinstance(error.__cause__, ABAPApplicationError)
    assert (error.idoc_type, error.system, error.key) == ("NOSUCH01", "alias ERP_PROD", "OBJECT_UNKNOWN")
    assert str(error) == (
        "IDoc type NOSUCH01 from alias ERP_PROD: IDOCTYPE_READ_COMPLETE raised OBJECT_UNKNOWN: "
        "IDoc type NOSUCH01 is not known in this system"
    )


def test_without_a_system_name_the_error_names_the_connection(sim: SimulatorProcess) -> None:
    with sim.connector() as sap, pytest.raises(RemoteMetadataError) as raised:
        read_idoc_type(sap, "NOSUCH01", "ZNOSUCH")
    assert repr(sap) in str(raised.value)
    assert "NOSUCH01 with extension ZNOSUCH" in str(raised.value)


# -- the cache -----------------------------------------------------------------------------------


def test_the_cache_asks_sap_once_for_two_gets_and_again_after_invalidate(sim: SimulatorProcess) -> None:
    cache = IDocTypeCache()
    first = cache.get("SIM", sim.connector, "TXTRAW01")
    second = cache.get("SIM", sim.connector, "TXTRAW01")
    assert first is second
    assert sap_calls(sim) == 1
    cache.invalidate()
    assert cache.get("SIM", sim.connector, "TXTRAW01") == first
    assert sap_calls(sim) == 2
    cache.invalidate(system="OTHER")  # another system's entries only
    cache.get("SIM", sim.connector, "TXTRAW01")
    assert sap_calls(sim) == 2
    cache.invalidate(system="SIM", name="TXTRAW01")
    cache.get("SIM", sim.connector, "TXTRAW01")
    assert sap_calls(sim) == 3


def test_the_cache_keys_by_system_and_release(sim: SimulatorProcess) -> None:
    cache = IDocTypeCache()
    cache.get("SIM", sim.connector, "TXTRAW01")
    cache.get("QAS", sim.connector, "TXTRAW01")
    cache.get("SIM", sim.connector, "TXTRAW01", release="758")
    cache.get("SIM", sim.connector, "TXTRAW01", extension="", release="")  # blank is None
    assert sap_calls(sim) == 3
    assert len(cache) == 3


def test_entries_expire_after_the_time_to_live(sim: SimulatorProcess) -> None:
    now = [1000.0]
    cache = IDocTypeCache(ttl=60, clock=lambda: now[0])
    cache.get("SIM", sim.connector, "TXTRAW01")
    now[0] += 59.9
    cache.get("SIM", sim.connector, "TXTRAW01")
    assert sap_calls(sim) == 1
    now[0] += 0.1
    cache.get("SIM", sim.connector, "TXTRAW01")
    assert sap_calls(sim) == 2
    with pytest.raises(ValueError, match="ttl"):
        IDocTypeCache(ttl=0)


def test_concurrent_misses_for_one_key_call_sap_once(sim: SimulatorProcess) -> None:
    cache = IDocTypeCache()
    threads = 8
    start = threading.Barrier(threads)
    opened: list[int] = []
    results: list[IDocType] = []

    def opener() -> AbstractContextManager[Connector]:
        opened.append(1)
        return sim.connector()

    def worker() -> None:
        start.wait()
        results.append(cache.get("SIM", opener, "TXTRAW01"))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=30)
    assert len(results) == threads
    assert all(result is results[0] for result in results)
    assert (len(opened), sap_calls(sim)) == (1, 1)


def test_the_cache_reads_through_a_pool_and_does_not_keep_failures(sim: SimulatorProcess) -> None:
    pool = ConnectionPool("SIM", sim.connector, size=1)
    try:
        cache = IDocTypeCache()
        assert cache.get("SIM", pool.connection, "TXTRAW01").segments == TXTRAW01.segments
        for _ in range(2):
            with pytest.raises(RemoteMetadataError, match="NOSUCH01 from SIM"):
                cache.get("SIM", pool.connection, "NOSUCH01")
        assert len(cache) == 1
        assert pool.stats().open == 1  # the connection went back to the pool each time
    finally:
        pool.close()


# -- rows to IDocType, by hand -------------------------------------------------------------------


def segment_row(nr: int, segtyp: str, level: int, parent: str = "", parpno: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "NR": nr,
        "SEGMENTTYP": segtyp,
        "SEGMENTDEF": "Z2" + segtyp[2:] + "000",
        "QUALIFIER": "",
        "PARSEG": parent,
        "PARPNO": parpno,
        "PARFLG": "",
        "MUSTFL": "",
        "OCCMIN": 1,
        "OCCMAX": 1,
        "HLEVEL": f"{level:02d}",
        "GRP_MUSTFL": "",
        "GRP_OCCMIN": 0,
        "GRP_OCCMAX": 0,
    } | extra


def field_row(segtyp: str, name: str, first: int, length: int, pos: int, datatype: str = "CHAR") -> dict[str, Any]:
    return {
        "SEGMENTTYP": segtyp,
        "FIELDNAME": name,
        "INTLEN": length,
        "EXTLEN": str(length).zfill(6),  # PyRFC gives NUMC fields as strings
        "FIELD_POS": pos,
        "BYTE_FIRST": first,
        "BYTE_LAST": first + length - 1,
        "DATATYPE": datatype,
        "DESCRP": f"{name} text",
    }


def answer() -> dict[str, Any]:
    """ZTEST01: Z1HEAD, then group 1 (Z1ITEM with Z1NOTE and group 2 (Z1SCHED)), then group 3 (Z1TAIL)."""
    group: dict[str, Any] = {"PARFLG": "X", "GRP_MUSTFL": "X", "GRP_OCCMIN": 1, "GRP_OCCMAX": 99}
    return {
        "PE_HEADER": {"IDOCTYP": "ZTEST01", "CIMTYP": "", "RELEASED": "758"},
        "PT_SEGMENTS": [
            segment_row(1, "Z1HEAD", 1, MUSTFL="X", QUALIFIER="X"),
            segment_row(2, "Z1ITEM", 2, **group),
            segment_row(3, "Z1NOTE", 3, "Z1ITEM", 2, OCCMAX=5),
            segment_row(4, "Z1SCHED", 3, "Z1ITEM", 2, PARFLG="X", GRP_OCCMIN=1, GRP_OCCMAX=3),
            segment_row(5, "Z1TAIL", 2, PARFLG="X", GRP_OCCMIN=1, GRP_OCCMAX=1),
        ],
        "PT_FIELDS": [
            field_row("Z1HEAD", "DOCNO", 64, 10, 1),
            field_row("Z1HEAD", "COUNT", 74, 5, 2, "NUMC"),
            field_row("Z1ITEM", "DATE", 64, 8, 1, "DATS"),
            field_row("Z1ITEM", "TIME", 72, 6, 2, "TIMS"),
            field_row("Z1ITEM", "QTY", 78, 15, 3, "QUAN"),
            field_row("Z1NOTE", "TEXT", 64, 70, 1),
        ],
    }


def test_hand_written_rows_make_the_tree_groups_and_fields() -> None:
    ztest = idoc_type_from_answer(answer(), "ZTEST01", None, system="T")
    assert (ztest.name, ztest.extension, ztest.release) == ("ZTEST01", None, "758")
    assert ztest.segment_types == ("Z1HEAD", "Z1ITEM", "Z1NOTE", "Z1SCHED", "Z1TAIL")
    assert groups(ztest) == [(1, 2, True, 1, 99, "Z1ITEM"), (2, 3, False, 1, 3, "Z1SCHED"),
                             (3, 2, False, 1, 1, "Z1TAIL")]  # fmt: skip
    head = ztest.segment("Z1HEAD")
    assert head is not None and (head.mandatory, head.qualified, head.definition_name) == (True, True, "Z2HEAD000")
    note = ztest.segment("Z1NOTE")
    assert note is not None and (note.level, note.max_occurs) == (3, 5)
    parent = ztest.parent("Z1SCHED")
    assert parent is not None and parent.segment_type == "Z1ITEM"
    item = ztest.segment("Z1ITEM")
    assert item is not None
    assert [(f.name, f.type, f.length, f.position, f.offset, f.text) for f in item.fields] == [
        ("DATE", "DATE", 8, 1, 0, "DATE text"),
        ("TIME", "TIME", 6, 2, 8, "TIME text"),
        ("QTY", "QUAN", 15, 3, 14, "QTY text"),
    ]
    assert [f.type for f in head.fields] == ["CHARACTER", "NUMERIC"]


LAST = segment_row(4, "Z1LAST", 1)
LATE = segment_row(5, "Z1LATE", 3, "Z1ITEM", 2)  # Z1ITEM's group ended with Z1LAST


def damage(where: str, index: int, **values: Any) -> dict[str, Any]:
    damaged = answer()
    damaged[where][index] |= values
    return damaged


@pytest.mark.parametrize(
    ("damaged", "message"),
    [
        (
            damage("PT_SEGMENTS", 2, PARSEG="Z1BOGUS"),
            "IDoc type ZTEST01 from T, PT_SEGMENTS row 3 (Z1NOTE): PARSEG Z1BOGUS names no segment before this row",
        ),
        (
            damage("PT_SEGMENTS", 2, PARSEG="Z1HEAD", PARPNO=1),
            "PT_SEGMENTS row 3 (Z1NOTE): PARSEG Z1HEAD does not head a group (its PARFLG is not 'X')",
        ),
        (
            damage("PT_SEGMENTS", 2, PARPNO=7),
            "PT_SEGMENTS row 3 (Z1NOTE): PARPNO 7 is not the NR 2 of PARSEG Z1ITEM",
        ),
        (
            damage("PT_SEGMENTS", 2, HLEVEL="04"),
            "PT_SEGMENTS row 3 (Z1NOTE): HLEVEL 4 is not one more than the level 2 of Z1ITEM",
        ),
        (
            answer() | {"PT_SEGMENTS": [*answer()["PT_SEGMENTS"][:3], LAST, LATE]},
            "PT_SEGMENTS row 5 (Z1LATE): the row is not in the group of its PARSEG Z1ITEM",
        ),
        (damage("PT_SEGMENTS", 1, OCCMAX="many"), "PT_SEGMENTS row 2 (Z1ITEM): OCCMAX 'many' is not a number"),
        (damage("PT_SEGMENTS", 1, GRP_OCCMAX=0), "PT_SEGMENTS row 2 (Z1ITEM): group 1: occurrences 1..0"),
        (damage("PT_SEGMENTS", 1, MUSTFL="Y"), "PT_SEGMENTS row 2 (Z1ITEM): MUSTFL 'Y' is neither 'X' nor blank"),
        (damage("PT_SEGMENTS", 1, SEGMENTTYP="Z1HEAD"), "PT_SEGMENTS row 2 (Z1HEAD): segment type Z1HEAD occurs twice"),
        (damage("PT_SEGMENTS", 1, NR=1), "PT_SEGMENTS row 2 (Z1ITEM): NR 1 does not follow NR 1 of the row before"),
        (damage("PT_SEGMENTS", 0, SEGMENTDEF=""), "PT_SEGMENTS row 1 (Z1HEAD): SEGMENTDEF is blank"),
        (
            damage("PT_FIELDS", 5, SEGMENTTYP="Z1GONE"),
            "PT_FIELDS row 6 (Z1GONE-TEXT): SEGMENTTYP Z1GONE names no segment of PT_SEGMENTS",
        ),
        (
            damage("PT_FIELDS", 1, BYTE_FIRST=70, BYTE_LAST=74),
            "PT_FIELDS row 2 (Z1HEAD-COUNT): the field overlaps field DOCNO of Z1HEAD",
        ),
        (
            damage("PT_FIELDS", 0, BYTE_LAST=80),
            "PT_FIELDS row 1 (Z1HEAD-DOCNO): BYTE_FIRST 64 to BYTE_LAST 80 does not span EXTLEN 10",
        ),
        (damage("PT_FIELDS", 0, BYTE_FIRST=10, BYTE_LAST=19), "BYTE_FIRST 10 lies before SDATA (character 64)"),
        (damage("PT_FIELDS", 0, DATATYPE=""), "PT_FIELDS row 1 (Z1HEAD-DOCNO): DATATYPE is blank"),
        (damage("PT_FIELDS", 1, FIELDNAME="DOCNO"), "PT_FIELDS row 2 (Z1HEAD-DOCNO): Z1HEAD has a field DOCNO already"),
        (answer() | {"PE_HEADER": {"IDOCTYP": "ZOTHER01"}}, "PE_HEADER: SAP answered for ZOTHER01"),
        ({"PE_HEADER": answer()["PE_HEADER"]}, "IDoc type ZTEST01 from T: the answer has no table PT_SEGMENTS"),
    ],
)
def test_a_damaged_row_raises_naming_the_row(damaged: dict[str, Any], message: str) -> None:
    with pytest.raises(RemoteMetadataError) as raised:
        idoc_type_from_answer(damaged, "ZTEST01", None, system="T")
    assert message in str(raised.value)
