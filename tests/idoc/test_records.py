"""EDI_DC40 / EDI_DD40 records: exact layouts, parsing trimmed and full-width records, errors naming the field."""

from __future__ import annotations

import pytest

from idocbridge.idoc import CONTROL_RECORD, DATA_RECORD, RecordError, format_record, parse_record
from idocbridge.idoc.plans import trim_blanks

CONTROL_LAYOUT = (
    "TABNAM 0/10 MANDT 10/3 DOCNUM 13/16 DOCREL 29/4 STATUS 33/2 DIRECT 35/1 OUTMOD 36/1 "
    "EXPRSS 37/1 TEST 38/1 IDOCTYP 39/30 CIMTYP 69/30 MESTYP 99/30 MESCOD 129/3 MESFCT 132/3 "
    "STD 135/1 STDVRS 136/6 STDMES 142/6 SNDPOR 148/10 SNDPRT 158/2 SNDPFC 160/2 SNDPRN 162/10 "
    "SNDSAD 172/21 SNDLAD 193/70 RCVPOR 263/10 RCVPRT 273/2 RCVPFC 275/2 RCVPRN 277/10 "
    "RCVSAD 287/21 RCVLAD 308/70 CREDAT 378/8 CRETIM 386/6 REFINT 392/14 REFGRP 406/14 "
    "REFMES 420/14 ARCKEY 434/70 SERIAL 504/20"
)
DATA_LAYOUT = "SEGNAM 0/30 MANDT 30/3 DOCNUM 33/16 SEGNUM 49/6 PSGNUM 55/6 HLEVEL 61/2 SDATA 63/1000"


def _spec(text: str) -> list[tuple[str, int, int]]:
    words = text.split()
    result = []
    for name, place in zip(words[::2], words[1::2], strict=True):
        offset, length = place.split("/")
        result.append((name, int(offset), int(length)))
    return result


def test_the_control_record_has_524_characters_and_the_fields_of_sap_facts() -> None:
    assert CONTROL_RECORD.name == "EDI_DC40"
    assert CONTROL_RECORD.length == 524
    assert [(f.name, f.offset, f.length) for f in CONTROL_RECORD.fields] == _spec(CONTROL_LAYOUT)


def test_the_data_record_has_1063_characters_and_the_fields_of_sap_facts() -> None:
    assert DATA_RECORD.name == "EDI_DD40"
    assert DATA_RECORD.length == 1063
    assert [(f.name, f.offset, f.length) for f in DATA_RECORD.fields] == _spec(DATA_LAYOUT)


def _control_text() -> str:
    chars = [" "] * 524
    for offset, value in ((0, "EDI_DC40"), (13, "0000000000004711"), (35, "2"), (39, "ORDERS05"), (504, "SERIAL-1")):
        chars[offset : offset + len(value)] = value
    return "".join(chars)


def test_full_width_and_right_trimmed_records_parse_alike() -> None:
    full = _control_text()
    expected = {
        "TABNAM": "EDI_DC40",
        "DOCNUM": "0000000000004711",
        "DIRECT": "2",
        "IDOCTYP": "ORDERS05",
        "SERIAL": "SERIAL-1",
    }
    assert parse_record(full, CONTROL_RECORD) == expected
    assert parse_record(full.rstrip(" "), CONTROL_RECORD) == expected
    assert format_record(expected, CONTROL_RECORD, trim=False) == full
    assert format_record(expected, CONTROL_RECORD) == full.rstrip(" ")


def test_a_data_record_splits_at_the_header_and_keeps_leading_blanks() -> None:
    text = "E1EDK01".ljust(30) + "100" + "0000000000004711" + "000001" + "000000" + "01" + "  EUR   "
    assert parse_record(text, DATA_RECORD) == {
        "SEGNAM": "E1EDK01",
        "MANDT": "100",
        "DOCNUM": "0000000000004711",
        "SEGNUM": "000001",
        "PSGNUM": "000000",
        "HLEVEL": "01",
        "SDATA": "  EUR",
    }
    assert parse_record(text.ljust(1063), DATA_RECORD)["SDATA"] == "  EUR"
    assert parse_record(" " * 30 + "100", DATA_RECORD) == {"MANDT": "100"}  # blank fields are left out


def test_a_record_one_character_too_long_is_refused_with_its_length() -> None:
    with pytest.raises(RecordError, match=r"EDI_DD40 record has 1064 characters, at most 1063 allowed"):
        parse_record("E1EDK01".ljust(1064, "x"), DATA_RECORD)
    with pytest.raises(RecordError, match=r"EDI_DC40 record has 525 characters, at most 524 allowed"):
        parse_record("EDI_DC40".ljust(525, "x"), CONTROL_RECORD)


def test_a_value_longer_than_its_field_names_the_field() -> None:
    with pytest.raises(RecordError, match=r"^EDI_DC40-MESTYP: 'X{31}' has 31 characters, at most 30 allowed$"):
        format_record({"MESTYP": "X" * 31}, CONTROL_RECORD)
    with pytest.raises(RecordError, match=r"^EDI_DD40-SEGNUM: '0000001' has 7 characters, at most 6 allowed$"):
        format_record({"SEGNUM": "0000001"}, DATA_RECORD)
    with pytest.raises(RecordError, match=r"EDI_DD40-SDATA: .* has 1001 characters"):
        format_record({"SDATA": "y" * 1001}, DATA_RECORD)


def test_an_unknown_field_is_named_with_the_known_ones() -> None:
    with pytest.raises(RecordError, match=r"^EDI_DC40 has no field COLOUR; its fields are TABNAM MANDT DOCNUM "):
        format_record({"COLOUR": "red"}, CONTROL_RECORD)


def test_multibyte_characters_count_as_one_character_each() -> None:
    values = {"SEGNAM": "E1EDKA1", "SDATA": "AG Müller 東京"}
    text = format_record(values, DATA_RECORD, trim=False)
    assert len(text) == 1063
    assert len(text.encode("utf-8")) > 1063
    assert text[63:75] == "AG Müller 東京"
    assert text[75:] == " " * 988
    assert parse_record(text, DATA_RECORD) == values
    # a value of 10 characters (but 14 UTF-8 bytes) fits SNDPRN (10)
    assert format_record({"SNDPRN": "東京東京Müller"}, CONTROL_RECORD).endswith("東京東京Müller")
    assert len(format_record({"SNDPRN": "東京東京Müller"}, CONTROL_RECORD)) == 172
    with pytest.raises(RecordError, match="EDI_DC40-SNDPRN"):
        format_record({"SNDPRN": "東京東京Müllers"}, CONTROL_RECORD)
    # the full-width data record of 1063 characters parses although it has more bytes
    assert parse_record("ü" * 1063, DATA_RECORD)["SDATA"] == "ü" * 1000


def test_a_record_of_values_in_any_order_is_the_record_of_field_order() -> None:
    values = {"SDATA": "x", "HLEVEL": "01", "SEGNAM": "E1EDK01"}
    text = format_record(values, DATA_RECORD)
    assert text == format_record(dict(sorted(values.items())), DATA_RECORD)
    assert text == "E1EDK01".ljust(61) + "01x"
    assert parse_record(text, DATA_RECORD) == {"SEGNAM": "E1EDK01", "HLEVEL": "01", "SDATA": "x"}


def test_an_empty_value_is_a_blank_field_and_a_short_record_has_no_fields_beyond_its_end() -> None:
    assert format_record({"MANDT": "", "SEGNAM": "E1"}, DATA_RECORD, trim=False) == "E1".ljust(1063)
    assert parse_record("E1EDK01", DATA_RECORD) == {"SEGNAM": "E1EDK01"}
    assert parse_record("", DATA_RECORD) == {}
    assert parse_record("E1".ljust(30) + "1", DATA_RECORD) == {"SEGNAM": "E1", "MANDT": "1"}


@pytest.mark.parametrize("end", ["", " ", "\t", "\u00a0", "\t  ", " \u3000 "])
def test_trailing_blanks_are_trimmed_and_other_white_space_is_kept(end: str) -> None:
    text = "E1EDK01".ljust(63) + "EUR" + end + " " * 900
    assert trim_blanks(text) == text.rstrip(" ")
    assert parse_record(text, DATA_RECORD)["SDATA"] == ("EUR" + end).rstrip(" ")
    assert format_record({"SEGNAM": "E1EDK01", "SDATA": "EUR" + end}, DATA_RECORD) == text[:66] + end.rstrip(" ")
    assert trim_blanks(" " * 5) == "" and trim_blanks("") == ""


@pytest.mark.parametrize("inner", ["\t", "\u00a0", "\u3000", "\x1f", "\u2028", " "])
def test_white_space_other_than_blanks_stays_at_the_end_of_a_field(inner: str) -> None:
    control = "EDI_DC40".ljust(10) + "10" + inner + "0000000000004711".ljust(16) + "46C" + inner
    values = parse_record(control, CONTROL_RECORD)
    assert values["MANDT"] == ("10" + inner).rstrip(" ")
    assert values["DOCREL"] == ("46C" + inner).rstrip(" ")
    assert format_record(values, CONTROL_RECORD) == control.rstrip(" ")
