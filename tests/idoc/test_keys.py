"""Business keys cut from an IDoc call: the control record's, and the fields a model names."""

from __future__ import annotations

import pytest

from idocbridge.idoc.errors import UnknownIDocTypeError
from idocbridge.idoc.keys import KeyPath, idoc_keys, parse_key_paths
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.txtraw import TXTRAW01
from idocbridge.sapsim.testing import txtraw


def _lookup(basic: str, extension: str | None) -> IDocType:
    if basic != "TXTRAW01" or extension:
        raise UnknownIDocTypeError(f"unknown {basic}")
    return TXTRAW01


def test_the_control_record_gives_type_message_partners_and_the_senders_docnum() -> None:
    parameters = txtraw("first line", "second line", sender="LEGACYSYS")
    keys = dict(idoc_keys("IDOC_INBOUND_ASYNCHRONOUS", parameters))
    assert keys["IDOCTYP"] == "TXTRAW01" and keys["MESTYP"] == "TXTRAW"
    assert keys["SNDPRN"] == "LEGACYSYS"
    assert "CIMTYP" not in keys, "an empty field is no key"


def test_a_named_field_is_cut_from_the_first_segment_of_its_type() -> None:
    parameters = txtraw("first line", "second line")
    keys = idoc_keys("IDOC_INBOUND_ASYNCHRONOUS", parameters, parse_key_paths("E1TXTRW-TLINE"), _lookup)
    assert ("E1TXTRW-TLINE", "first line") in keys
    assert ("E1TXTRW-TLINE", "second line") not in keys


def test_an_idoc_type_without_metadata_keeps_its_control_keys() -> None:
    parameters = txtraw("x")
    parameters["IDOC_CONTROL_REC_40"][0]["IDOCTYP"] = "ORDERS05"
    keys = dict(idoc_keys("IDOC_INBOUND_ASYNCHRONOUS", parameters, parse_key_paths("E1EDK01-BELNR"), _lookup))
    assert keys["IDOCTYP"] == "ORDERS05" and "E1EDK01-BELNR" not in keys


def test_a_call_of_another_function_has_no_idoc_keys() -> None:
    assert idoc_keys("BAPI_PO_CREATE1", {"POHEADER": {"COMP_CODE": "1000"}}) == ()


def test_key_paths_are_segment_dash_field_and_a_bad_one_is_named() -> None:
    assert parse_key_paths(" e1edk01-belnr, E1EDKA1-PARTN ,") == (
        KeyPath("E1EDK01", "BELNR"),
        KeyPath("E1EDKA1", "PARTN"),
    )
    with pytest.raises(ValueError, match="'BELNR' is no SEGMENT-FIELD name"):
        parse_key_paths("BELNR")
