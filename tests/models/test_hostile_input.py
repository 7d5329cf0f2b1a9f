"""Odd and hostile input gets a clean diagnostic, never a traceback, and never leaks a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from idocbridge.models import ModelError, load_model_text, plan_pools
from idocbridge.models.source import Syntax

SECRET = "s3cretPW-idocbridge"
ALIAS = '  - name: SAP\n    protocol: trfc\n    connector: pyrfc\n    client: "100"\n    user: IDOC/${SAP_PASSWORD}\n'


def _errors(text: str | bytes, syntax: Syntax = "yaml") -> list[str]:
    with pytest.raises(ModelError) as raised:
        load_model_text(text, f"hostile.{syntax}", syntax)
    return [d.format() for d in raised.value.diagnostics]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "model has no 'name'"),
        ("- a\n- b\n", "a model file holds a mapping of keys"),
        ("name: M\ndescription: " + "[" * 200 + "]" * 200 + "\n", "nests deeper than"),
        ("name: M\ncomposite:\n  sapPoolSize: " + "9" * 5000 + "\n", "Exceeds the limit"),
        ('name: "\\ud800"\n', "escaped surrogate"),
        ("name: M\ncomposite:\n", "'composite' in model 'M' must be a mapping"),
        ("name: M\naliases: {a: 1}\n", "'aliases' in model 'M' must be a list"),
        ("name: M\n1: x\n", "unknown key '1' in model 'M'"),
        ("name: [a]\n", "'name' in model must be text"),
    ],
)
def test_odd_yaml_is_reported_not_crashed_on(text: str, message: str) -> None:
    assert any(message in error for error in _errors(text)), _errors(text)


def test_yaml_merge_keys_and_ordered_maps_load() -> None:
    text = "name: M\nbase: &b {sapPoolSize: 5}\n"
    assert any("unknown key 'base'" in e for e in _errors(text))
    merged = "name: M\ncomposite:\n  <<: {sapPoolSize: 5}\n  sapValuePadding: Mixed\n"
    model = load_model_text(merged, "m.yaml", "yaml").model
    assert (model.composite.sap_pool_size, model.composite.sap_value_padding) == (5, "Mixed")
    ordered = "name: M\ncomposite: !!omap [sapPoolSize: 7]\n"
    assert load_model_text(ordered, "m.yaml", "yaml").model.composite.sap_pool_size == 7


def test_null_values_are_reported_at_their_key() -> None:
    (error,) = _errors("name: M\ncomposite:\nstructures: []\n")
    assert error.startswith("hostile.yaml:2:1: error: 'composite' in model 'M' must be a mapping")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('<?xml version="1.0" encoding="UTF-16"?><model/>'.encode("utf-16"), "must be encoded in UTF-8"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><model/>', "not ISO-8859-1"),
        (b'<model xmlns="urn:idocbridge:model:1" name="M"><aliases>&y;</aliases></model>', "invalid XML"),
        (b'<model xmlns="urn:idocbridge:model:1" name="M"><?pi x?><!-- c --></model>', ""),
    ],
)
def test_odd_xml_is_reported_not_crashed_on(data: bytes, message: str) -> None:
    if not message:
        assert load_model_text(data, "m.xml", "xml").model.name == "M"
        return
    assert any(message in error for error in _errors(data, "xml"))


def test_xml_never_echoes_text_that_may_be_a_password() -> None:
    data = (
        '<model xmlns="urn:idocbridge:model:1" name="M"><aliases>'
        '<alias name="A" protocol="rfc" client="100" user="U/${P}"><password>' + SECRET + "</password></alias>"
        "</aliases></model>"
    ).encode()
    errors = "\n".join(_errors(data, "xml"))
    assert "<password> holds text, which models do not use" in errors
    assert SECRET not in errors


@pytest.mark.parametrize(
    "options",
    [
        f'PASSWD="abc" 12!{SECRET}"',
        f'SAPROUTER="/H/r/W/{SECRET}/H/"',
        f'X509CERT="{SECRET}" GETSSO2="2"',
    ],
)
def test_option_problems_never_echo_secrets(options: str) -> None:
    text = f"name: M\naliases:\n{ALIAS}    routerString: /H/r/W/other{SECRET}/H/\n    options: '{options}'\n"
    try:
        load_model_text(text, "m.yaml", "yaml")
    except ModelError as exc:
        assert SECRET not in str(exc)
    else:  # pragma: no cover - each case has at least a warning or an error
        pytest.fail("expected diagnostics")


def test_pool_keys_never_hold_secret_values() -> None:
    aliases = ALIAS + ALIAS.replace("SAP\n", "SAP2\n")
    text = f"name: M\naliases:\n{aliases}".replace(
        "    user: IDOC/${SAP_PASSWORD}\n", f'    user: IDOC/${{SAP_PASSWORD}}\n    options: MYSAPSSO2="{SECRET}"\n', 1
    )
    pools = plan_pools(load_model_text(text, "m.yaml", "yaml").model)
    assert len(pools) == 2  # a logon ticket identifies the logon, so the pools differ
    assert all(SECRET not in pool.connection for pool in pools)
    assert "MYSAPSSO2" in pools[0].connection


def test_rich_markup_in_a_model_is_printed_as_text(tmp_path: Path) -> None:
    model = tmp_path / "d[bold]x.yaml"
    model.write_text('name: M\nversion: "[/bold][red]1.0"\n', encoding="utf-8")
    result = subprocess.run(
        [Path(sys.executable).parent / "idocbridge", "validate", str(model)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[/bold][red]1.0" in result.stdout
    assert "d[bold]x.yaml" in result.stdout


def test_nested_wildcards_and_dates_map() -> None:
    text = f"""
name: M
aliases:
{ALIAS}structures:
  - name: Group
    fields:
      - name: items
        type: CHAR(10)
        array: true
  - name: Req
    fields:
      - name: groups
        type: Group
        array: true
      - name: day
        type: Date
  - name: SUB
    fields:
      - name: X
        type: CHAR(10)
  - name: ROW
    fields:
      - name: A
        type: CHAR(10)
      - name: DAY
        type: DATS
      - name: SUB
        type: SUB
        array: true
  - name: TABS
    stereotype: SAPTables
    fields:
      - name: ROWS
        type: ROW
        array: true
functions:
  - name: Z_ROWS
    tables: TABS
services:
  - name: S
    portTypes:
      - name: P
        operations:
          - name: Op
            input: Req
            activity:
              - stereotype: SAPTRFCCreateTransaction
                name: create
                alias: SAP
              - stereotype: SAPTRFCAdapter
                name: call
                alias: SAP
                function: Z_ROWS
                transaction: create
                inputs:
                  - to: tables.ROWS[*].SUB[*].X
                    from: input.groups[*].items[*]
                  - to: tables.ROWS[*].A
                    value: GROUP
                  - to: tables.ROWS[*].DAY
                    value: "20240229"
                  - to: tables.ROWS[0].SUB[0].X
                    value: first
              - stereotype: SAPTRFCConfirmTransaction
                name: confirm
                alias: SAP
                transaction: create
"""
    with pytest.raises(ModelError) as raised:
        load_model_text(text, "m.yaml", "yaml")
    # [*] and [0] may write the same value: the only error is the overlap.
    first = text.splitlines().index("                  - to: tables.ROWS[*].SUB[*].X") + 1
    assert [d.message for d in raised.value.diagnostics] == [
        f"'tables.ROWS[0].SUB[0].X' overlaps 'tables.ROWS[*].SUB[*].X' at line {first}"
    ]
    fixed = text.replace("                  - to: tables.ROWS[0].SUB[0].X\n                    value: first\n", "")
    fixed = fixed.replace(
        'tables.ROWS[*].DAY\n                    value: "20240229"',
        "tables.ROWS[0].DAY\n                    from: input.day",
    )
    load_model_text(fixed, "m.yaml", "yaml")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("? [a, b]\n: 1\n", "1:3"),
        ("{[a]: 1}\n", "1:2"),
        ("name: M\n? {a: 1}\n: 2\n", "2:3"),
        ("name: M\ncomposite:\n  ? - sapPoolSize\n  : 5\n", "3:5"),
        # Keys that cannot even be hashed (found by the long settings fuzz run: a TypeError escaped)
        ("aliases:\n  ?\n  - name: SAP\n    host: a\n  - name: SAP\n    host: b\n", "3:3"),
        ("name: M\n? [{x: 1}]\n: 2\n", "2:3"),
        ("name: M\n? {a: [1]}\n: 1\n", "2:3"),
    ],
)
def test_complex_yaml_keys_are_positioned_errors(text: str, where: str) -> None:
    errors = _errors(text)
    assert any(
        e.startswith(f"hostile.yaml:{where}: error: a key must be a plain name, not a ") and "hint: write the key" in e
        for e in errors
    ), errors


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ('<model xmlns="urn:idocbridge:model:1" name="M" \ufeffn\u00e4me="x"/>', "1:48"),
        ('<model xmlns="urn:idocbridge:model:1" name="M">\n  <composite \u2070a="1"/>\n</model>', "2:14"),
    ],
)
def test_xml_names_only_lxml_accepts_are_positioned_errors(data: str, where: str) -> None:
    errors = _errors(data.encode(), "xml")
    assert any(e.startswith(f"hostile.xml:{where}: error: invalid XML: ") and "hint: rename" in e for e in errors), (
        errors
    )


def test_a_model_that_is_no_regular_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    from idocbridge.models import load_model

    endless = tmp_path / "endless.yaml"
    endless.symlink_to("/dev/zero")
    with pytest.raises(ModelError) as raised:
        load_model(endless)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.format() == f"error: cannot read {endless}: not a regular file"


def test_a_parser_file_that_is_no_regular_file_is_a_positioned_error(tmp_path: Path) -> None:
    text = "name: M\nidocTypes:\n  - name: ORDERS05\n    parserFile: /dev/zero\n"
    errors = _errors(text)
    wanted = "/dev/zero: cannot read the file: not a regular file"
    assert any(e.startswith("hostile.yaml:4:17: error:") and wanted in e for e in errors), errors


def test_keys_that_read_as_the_same_text_are_duplicates() -> None:
    errors = _errors('name: M\ncomposite:\n  1: a\n  "1": b\n')
    hint = "a key may appear once per mapping: remove one of the two '1' entries"
    assert errors == [f"hostile.yaml:4:3: error: duplicate key '1'\n    hint: {hint}"]


def test_an_anchor_defined_twice_is_a_positioned_error() -> None:
    """Found by the long fuzz run: ruamel only warns, and the warning escaped as a Python warning."""
    assert _errors("name: M\ndescription: &a x\ncomposite: &a {}\n") == [
        "hostile.yaml:3:12: error: the anchor &a is defined a second time\n"
        "    hint: give each anchor its own name, so that every alias says which one it means"
    ]
