"""Parse and check the ``options`` tagged value: blank-separated ``name="value"`` pairs.

Names are case-insensitive, values case-sensitive. Inside a quoted value, ``\\"`` stands for a quote and
``\\\\`` for a backslash. The reference runtime ignores anything it cannot parse; here every problem is
reported with its column, so it never surfaces later as an SAP logon error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from idocbridge.models.connection_options import KNOWN_OPTIONS, MASKED_OPTIONS, SECRET_OPTIONS
from idocbridge.models.secrets import mask_router_string
from idocbridge.models.service_names import router_service_problem, service_problem

__all__ = ["ConnectionString", "OptionProblem", "parse_connection_string", "shown_value"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class OptionProblem:
    """A problem in the connection string, at a 0-based character offset."""

    offset: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class ConnectionString:
    """Parsed options: upper-case name to value, in the order written, with their offsets."""

    options: dict[str, str] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.options.get(name.upper())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self.options

    def render(self) -> str:
        """The canonical text: upper-case names, values quoted and escaped."""
        return " ".join(f'{name}="{_escape(value)}"' for name, value in self.options.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def parse_connection_string(text: str) -> tuple[ConnectionString, list[OptionProblem]]:
    """Parse ``text``; return what parsed and every problem found (syntax, unknown names, values)."""
    options: dict[str, str] = {}
    offsets: dict[str, int] = {}
    problems: list[OptionProblem] = []
    pos = 0
    length = len(text)
    while pos < length:
        if text[pos].isspace():
            pos += 1
            continue
        parsed = _parse_pair(text, pos)
        if isinstance(parsed, OptionProblem):
            problems.append(parsed)
            break  # the rest cannot be read reliably
        name, value, start, pos = parsed
        upper = name.upper()
        if upper in options:
            problems.append(OptionProblem(start, f"option {upper} is given twice", "give each option once"))
            continue
        options[upper] = value
        offsets[upper] = start
        problems.extend(_check_option(upper, value, start))
    return ConnectionString(options, offsets), problems


def _parse_pair(text: str, pos: int) -> tuple[str, str, int, int] | OptionProblem:
    start = pos
    match = _NAME.match(text, pos)
    if match is None:
        return OptionProblem(pos, f"expected an option name at '{text[pos : pos + 12]}'", _FORMAT_HINT)
    name = match.group(0)
    pos = match.end()
    if pos >= len(text) or text[pos] != "=":
        return OptionProblem(pos, f"option {name.upper()} has no '=' and value", _FORMAT_HINT)
    pos += 1
    if pos >= len(text) or text[pos] != '"':
        return OptionProblem(pos, f"the value of option {name.upper()} is not in double quotes", _FORMAT_HINT)
    pos += 1
    chars: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
            chars.append(text[pos + 1])
            pos += 2
            continue
        if char == '"':
            pos += 1
            if pos < len(text) and not text[pos].isspace():
                return OptionProblem(pos, f"expected a blank after the value of option {name.upper()}", _FORMAT_HINT)
            return name, "".join(chars), start, pos
        chars.append(char)
        pos += 1
    return OptionProblem(start, f"the value of option {name.upper()} has no closing quote", _FORMAT_HINT)


_FORMAT_HINT = 'write options as blank-separated name="value" pairs, e.g. LCHECK="1" TRACE="0"'


def shown_value(name: str, value: str) -> str:
    """An option's value as a message may show it: secrets as ***, router passwords masked."""
    if name in SECRET_OPTIONS:
        return "***"
    if name in MASKED_OPTIONS:
        return mask_router_string(value)
    return value


def _check_option(name: str, value: str, offset: int) -> list[OptionProblem]:
    spec = KNOWN_OPTIONS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, KNOWN_OPTIONS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see the list of options in docs/models.md"
        return [OptionProblem(offset, f"unknown connection option {name}", hint)]
    shown = "a secret" if name in SECRET_OPTIONS else f"'{shown_value(name, value)}'"
    if spec.values is not None and value not in spec.values:
        allowed = ", ".join(f'"{v}"' for v in spec.values)
        return [
            OptionProblem(offset, f"option {name} does not take {shown}", f"{name} takes {allowed}: {spec.description}")
        ]
    if spec.pattern is not None and re.fullmatch(spec.pattern, value) is None:
        return [OptionProblem(offset, f"option {name} does not take {shown}", f"{name} is the {spec.description}")]
    problem = None
    if name in _SERVICE_OPTIONS:
        problem = service_problem(value, f"option {name}")
    elif name == "SAPROUTER":
        problem = router_service_problem(value)
    return [] if problem is None else [OptionProblem(offset, problem.message, problem.hint)]


_SERVICE_OPTIONS = frozenset({"MSSERV", "GWSERV"})
