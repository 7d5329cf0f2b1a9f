"""Built-in records and functions match SAP's layouts (SAP-FACTS §4)."""

from __future__ import annotations

from idocbridge.models.builtins import EDI_DC40_LAYOUT, EDI_DD40_LAYOUT, builtin_functions, builtin_structures
from idocbridge.models.ddic import parse_scalar_type


def _offsets(layout: tuple[tuple[str, int], ...]) -> dict[str, tuple[int, int]]:
    offsets, position = {}, 0
    for name, width in layout:
        offsets[name] = (position, width)
        position += width
    return offsets


def test_control_record_is_524_characters_with_sap_offsets() -> None:
    offsets = _offsets(EDI_DC40_LAYOUT)
    assert sum(width for _, width in EDI_DC40_LAYOUT) == 524
    assert offsets["TABNAM"] == (0, 10)
    assert offsets["DOCNUM"] == (13, 16)
    assert offsets["IDOCTYP"] == (39, 30)
    assert offsets["MESTYP"] == (99, 30)
    assert offsets["SNDPOR"] == (148, 10)
    assert offsets["RCVPRN"] == (277, 10)
    assert offsets["CREDAT"] == (378, 8)
    assert offsets["SERIAL"] == (504, 20)


def test_data_record_is_1063_characters_with_sap_offsets() -> None:
    offsets = _offsets(EDI_DD40_LAYOUT)
    assert sum(width for _, width in EDI_DD40_LAYOUT) == 1063
    assert offsets["SEGNUM"] == (49, 6)
    assert offsets["HLEVEL"] == (61, 2)
    assert offsets["SDATA"] == (63, 1000)


def test_record_structures_use_the_layout_widths() -> None:
    structures = {s.name: s for s in builtin_structures()}
    for name, layout in (("EDI_DC40", EDI_DC40_LAYOUT), ("EDI_DD40", EDI_DD40_LAYOUT)):
        fields = structures[name].fields
        assert [f.name for f in fields] == [n for n, _ in layout]
        for field, (_, width) in zip(fields, layout, strict=True):
            scalar = parse_scalar_type(field.type)
            assert scalar is not None
            assert scalar.max_length == width, field.name


def test_builtin_functions() -> None:
    functions = {f.name: f for f in builtin_functions()}
    idoc = functions["IDOC_INBOUND_ASYNCHRONOUS"]
    assert (idoc.import_, idoc.export, idoc.tables) == (None, None, "IDOC_INBOUND_ASYNCHRONOUS_TABLES")
    structures = {s.name: s for s in builtin_structures()}
    tables = structures["IDOC_INBOUND_ASYNCHRONOUS_TABLES"]
    assert tables.stereotype == "SAPTables"
    assert [(f.name, f.type, f.array) for f in tables.fields] == [
        ("IDOC_CONTROL_REC_40", "EDI_DC40", True),
        ("IDOC_DATA_REC_40", "EDI_DD40", True),
    ]
    stfc = functions["STFC_CONNECTION"]
    assert [f.name for f in structures[stfc.import_ or ""].fields] == ["REQUTEXT"]
    assert [f.name for f in structures[stfc.export or ""].fields] == ["ECHOTEXT", "RESPTEXT"]
