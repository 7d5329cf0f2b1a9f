"""Read the expectations written at the end of a corpus file."""

from __future__ import annotations

import re
from pathlib import Path

from idocbridge.models import Diagnostic

_YAML = re.compile(r"^# expect: (?P<text>.*)$|^#   hint: (?P<hint>.*)$")
_XML = re.compile(r"^<!-- expect: (?P<text>.*) -->$|^<!-- hint: (?P<hint>.*) -->$")


MODEL_DIR = "<model dir>"
"""Stands for the directory of the corpus file in an expectation (messages naming resolved paths)."""


def expected(path: Path) -> list[tuple[str, str | None]]:
    """(``line:col: severity: message``, hint) pairs in the order written; ``<model dir>`` is the file's directory."""
    pattern = _XML if path.suffix == ".xml" else _YAML
    result: list[tuple[str, str | None]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line.replace(MODEL_DIR, str(path.parent)))
        if match is None:
            continue
        if match.group("text") is not None:
            result.append((match.group("text"), None))
        else:
            text, _ = result[-1]
            result[-1] = (text, match.group("hint"))
    return result


def actual(diagnostics: list[Diagnostic], path: Path) -> list[tuple[str, str | None]]:
    for diagnostic in diagnostics:
        assert diagnostic.location is not None, diagnostic
        assert diagnostic.location.file == str(path), f"{diagnostic.location} is not in {path}"
    return [(d.without_file(), d.hint) for d in diagnostics]
