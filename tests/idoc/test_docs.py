"""docs/idoc-metadata.md says what the code does."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from idocbridge.idoc import ParserFileError, Rule, read_parser_file
from tests.conftest import ROOT
from tests.idoc.conftest import SAPIDOC, external

PAGE = (ROOT / "docs" / "idoc-metadata.md").read_text(encoding="utf-8")
TESTS = Path(__file__).parent


def test_every_rule_is_documented_with_an_example_the_tests_pin() -> None:
    pinned = "".join(
        path.read_text(encoding="utf-8") for path in TESTS.glob("test_*.py") if path.name != "test_docs.py"
    )
    rows = dict(re.findall(r"^\| `([a-z-]+)` \|.*\| `(.*)` \|$", PAGE, re.MULTILINE))
    assert sorted(rows) == sorted(rule.value for rule in Rule)
    assert [message for message in rows.values() if message not in pinned] == []


def test_the_validation_example_prints_what_the_page_shows() -> None:
    code, output = re.findall(r"```(?:python|text)\n(.*?)```", PAGE, re.DOTALL)[1:3]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    assert printed.getvalue() == output


def test_the_damaged_file_message_is_what_the_reader_says() -> None:
    path = external(f"{SAPIDOC}/main/resources/ORDERS05.txt")
    with pytest.raises(ParserFileError) as raised:
        read_parser_file(path)
    shown = next(line.strip() for line in PAGE.splitlines() if "line 5767" in line)
    assert shown == str(raised.value).replace(str(path), "ORDERS05.txt")
