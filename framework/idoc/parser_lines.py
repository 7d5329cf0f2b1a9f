"""The lines of a parser file as keyword/value pairs, and a cursor that reports what it expected where.

A parser file has one token per line, optionally followed by a value: ``LENGTH  000003``,
``TEXT  Action code for the whole EDI message``. Blank lines separate fields and carry no meaning.
Every error names the 1-based line number (of the last line when the file ends too early).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from idocbridge.idoc.errors import ParserFileError

__all__ = ["Cursor", "Line"]

_NUMBER = re.compile("[0-9]{1,10}")
_MAX_NAME = 30  # SEGNAM, IDOCTYP and CIMTYP are 30 characters
_SHOWN = 60  # characters of an unexpected line quoted in a message


@dataclass(frozen=True)
class Line:
    """A non-blank line: its 1-based number, its keyword and the rest of it without surrounding blanks."""

    number: int
    keyword: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.value}" if self.value else self.keyword


def _split(text: str) -> tuple[list[Line], int]:
    raw = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if raw and raw[-1] == "":
        raw.pop()  # the newline that ends the last line
    lines = []
    for number, content in enumerate(raw, start=1):
        parts = content.split(None, 1)
        if parts:
            lines.append(Line(number, parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return lines, max(len(raw), 1)


def _alternatives(keywords: Collection[str]) -> str:
    names = list(keywords)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


class Cursor:
    """Walks the lines of one parser file; every failure is a :class:`ParserFileError` naming a line."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self._lines, self._last = _split(text)
        self._index = 0

    def peek(self) -> Line | None:
        """The next line, None at the end of the file."""
        return self._lines[self._index] if self._index < len(self._lines) else None

    def at(self, *keywords: str) -> bool:
        """True if the next line starts with one of the keywords."""
        line = self.peek()
        return line is not None and line.keyword in keywords

    def take(self) -> Line:
        """The next line (call only after :meth:`peek` or :meth:`at` found one)."""
        line = self._lines[self._index]
        self._index += 1
        return line

    def expect(self, *keywords: str, context: str = "") -> Line:
        """Take the next line if it starts with one of the keywords, else report what was expected."""
        if self.at(*keywords):
            return self.take()
        raise self.unexpected(keywords, context)

    def unexpected(self, keywords: Collection[str], context: str = "") -> ParserFileError:
        """The error for a next line that is none of the expected keywords."""
        line = self.peek()
        if line is None:
            found = "the end of the file"
        else:
            shown = line.text if len(line.text) <= _SHOWN else line.text[:_SHOWN] + "..."
            found = repr(shown)
        suffix = f" {context}" if context else ""
        return self.error(line, f"expected {_alternatives(keywords)}, found {found}{suffix}")

    def error(self, line: Line | None, detail: str) -> ParserFileError:
        """An error at ``line`` (at the last line of the file for None)."""
        return ParserFileError(self.source, line.number if line is not None else self._last, detail)

    def number(self, line: Line, low: int = 0) -> int:
        """The line's value as a whole number of 1 to 10 digits, at least ``low``."""
        if not _NUMBER.fullmatch(line.value):
            shown = repr(line.value) if line.value else "nothing"
            raise self.error(line, f"{line.keyword} needs a whole number of 1 to 10 digits, found {shown}")
        value = int(line.value)
        if value < low:
            raise self.error(line, f"{line.keyword} {line.value} is too small: the least allowed is {low}")
        return value

    def name(self, line: Line) -> str:
        """The line's value as one name of at most 30 characters."""
        if not line.value:
            raise self.error(line, f"{line.keyword} needs a name")
        if len(line.value.split()) > 1 or len(line.value) > _MAX_NAME:
            raise self.error(
                line, f"{line.keyword} needs one name of at most {_MAX_NAME} characters, found {line.value[:_SHOWN]!r}"
            )
        return line.value

    def flag(self, line: Line) -> None:
        """Check that a flag keyword (QUALIFIED) has no value."""
        if line.value:
            raise self.error(line, f"{line.keyword} takes no value, found {line.value[:_SHOWN]!r}")
