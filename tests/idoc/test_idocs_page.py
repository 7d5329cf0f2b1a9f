"""docs/idocs.md says what the code does: its Python example prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re

from idocbridge.idoc import CONTROL_RECORD, DATA_RECORD
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "idocs.md").read_text(encoding="utf-8")


def test_the_conversion_example_prints_what_the_page_shows() -> None:
    code = re.findall(r"```python\n(.*?)```", PAGE, re.DOTALL)[0]
    shown = re.findall(r"prints\n\n```text\n(.*?)```", PAGE, re.DOTALL)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    assert printed.getvalue() == shown


def test_the_record_layouts_on_the_page_are_the_code_s() -> None:
    for layout in (CONTROL_RECORD, DATA_RECORD):
        for field in layout.fields:
            assert f"{field.name} {field.offset}/{field.length}" in PAGE, field.name
