"""The connection string in the ``options`` tagged value."""

from __future__ import annotations

import pytest

from idocbridge.models.connection_options import KNOWN_OPTIONS
from idocbridge.models.connection_string import parse_connection_string


def test_names_are_case_insensitive_values_case_sensitive() -> None:
    parsed, problems = parse_connection_string('lcheck="1" Snc_PartnerName="p:CN=Sap, O=Example"')
    assert problems == []
    assert parsed.options == {"LCHECK": "1", "SNC_PARTNERNAME": "p:CN=Sap, O=Example"}
    assert parsed.get("snc_partnername") == "p:CN=Sap, O=Example"
    assert "Lcheck" in parsed


def test_quotes_and_backslashes_are_escaped_inside_values() -> None:
    parsed, problems = parse_connection_string(r'SNC_MYNAME="p:CN=\"A\" \\ B"  TRACE="0"')
    assert problems == []
    assert parsed.options["SNC_MYNAME"] == 'p:CN="A" \\ B'
    assert parsed.render() == r'SNC_MYNAME="p:CN=\"A\" \\ B" TRACE="0"'
    again, _ = parse_connection_string(parsed.render())
    assert again.options == parsed.options


def test_empty_string_has_no_options() -> None:
    assert parse_connection_string("   ") == (parse_connection_string("")[0], [])


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("LCHECK", 6, "option LCHECK has no '=' and value"),
        ("LCHECK=1", 7, "the value of option LCHECK is not in double quotes"),
        ('LCHECK="1', 0, "the value of option LCHECK has no closing quote"),
        ('LCHECK="1"TRACE="0"', 10, "expected a blank after the value of option LCHECK"),
        ('="1"', 0, "expected an option name at '=\"1\"'"),
        ('TRACE="1" ASHOTS="x"', 10, "unknown connection option ASHOTS"),
        ('TRACE="9"', 0, "option TRACE does not take '9'"),
        ('SYSNR="1"', 0, "option SYSNR does not take '1'"),
        ('TRACE="1" trace="1"', 10, "option TRACE is given twice"),
    ],
)
def test_problems_name_their_offset(text: str, offset: int, message: str) -> None:
    _, problems = parse_connection_string(text)
    assert [(p.offset, p.message) for p in problems] == [(offset, message)]


def test_secret_option_values_never_appear_in_messages() -> None:
    _, problems = parse_connection_string('GETSSO2="maybe" X509CERT="MIIBsecret"')
    assert [p.message for p in problems] == ["option GETSSO2 does not take 'maybe'"]
    _, problems = parse_connection_string('SNC_QOP="7"')
    assert "7" in problems[0].message


def test_the_known_options_cover_sap_facts() -> None:
    documented = {
        "ABAP_DEBUG", "ASHOST", "CFIT", "CODEPAGE", "COMM_CP", "DEST", "GROUP", "GWHOST", "GWSERV", "ICCE",
        "IDLE_TIMEOUT", "LCHECK", "MSHOST", "MSSERV", "PCS", "R3NAME", "SAPLOGON_ID", "SNC_LIB", "SNC_MODE",
        "SNC_MYNAME", "SNC_PARTNERNAME", "SNC_QOP", "SYSNR", "TOUPPER", "TPHOST", "TPNAME", "TRACE", "TYPE",
        "USE_SAPGUI", "WAN", "ALIAS_USER", "EXTIDDATA", "EXTIDTYPE", "GETSSO2", "MYSAPSSO", "MYSAPSSO2", "X509CERT",
        "NEWPASS", "GRT_DATA", "WSHOST", "WSPORT", "TLS_CLIENT_PSE",
    }  # fmt: skip
    assert documented <= set(KNOWN_OPTIONS)
