"""The simulator's configuration: system ID, clients, users, allowlists, function modules, IDoc types,
and how inbound IDocs are processed (at once, or later in the background as SAP's RBDAPP01 does).

A YAML (or XML) file read with the model loader, so every mistake is reported with file, line and
column. Without a file the simulator uses ``default_config.yaml``, which serves ``examples/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from idocbridge.models.element import Element
from idocbridge.models.fields import invalid
from idocbridge.models.loader import parse_element, read_source

__all__ = [
    "DEFAULT_CONFIG",
    "IDOC_PROCESSING_MODES",
    "MAX_PROCESSING_DELAY",
    "CommunicationScenario",
    "IDocProcessing",
    "SimulatorConfig",
    "SimulatorUser",
    "load_config",
]

DEFAULT_CONFIG = Path(__file__).with_name("default_config.yaml")
IDOC_PROCESSING_MODES = ("immediate", "background")
MAX_PROCESSING_DELAY = 86400.0
"""The longest ``idocProcessing.delaySeconds``: a day."""


class SimulatorUser(Element):
    """A user of one client, with password and/or X.509 certificate logon and an allowlist."""

    label: ClassVar[str] = "simulator user"
    xml_tag: ClassVar[str] = "user"

    name: str
    client: str
    password: str | None = None
    """Development password (the simulator is not a vault); no password means no password logon."""
    alias_user: str | None = None
    """Alias user name that logs on as this user."""
    certificates: list[str] = Field(default_factory=list)
    """Common names (CN) of client certificates that log on as this user."""
    scenarios: list[str] = Field(default_factory=list)
    """Communication scenarios whose functions this user may call."""
    functions: list[str] = Field(default_factory=list)
    """Further functions this user may call (UCON allowlist entries)."""

    @field_validator("client")
    @classmethod
    def _client(cls, value: str) -> str:
        if not re.fullmatch("[0-9]{3}", value):
            raise invalid(f"client '{value}' is not three digits", 'write client: "100"')
        return value


class CommunicationScenario(Element):
    """A named allowlist of function modules (SAP's communication scenario / UCON RFC basic scenario)."""

    label: ClassVar[str] = "communication scenario"
    xml_tag: ClassVar[str] = "scenario"

    name: str
    functions: list[str] = Field(default_factory=list)


class IDocProcessing(Element):
    """When inbound IDocs are posted: ``immediate`` (in the inbound call: 64, 62, 53 at once) or
    ``background`` (the call leaves them at 64, ready; the simulator posts them ``delaySeconds`` later,
    as SAP's report RBDAPP01 does when the partner profile says "trigger by background program")."""

    label: ClassVar[str] = "IDoc processing"
    xml_tag: ClassVar[str] = "idocProcessing"

    mode: str = "immediate"
    """``immediate`` or ``background``."""
    delay_seconds: float = 5.0
    """In background mode: seconds from status 64 until the IDoc is posted (62, then 53 or 51)."""

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in IDOC_PROCESSING_MODES:
            raise invalid(
                f"IDoc processing mode '{value}' is not known",
                "write mode: immediate (posted in the inbound call) or mode: background (posted delaySeconds later)",
            )
        return value

    @field_validator("delay_seconds", mode="before")
    @classmethod
    def _delay(cls, value: object) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # the XML syntax gives text
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None:
            raise invalid(f"delaySeconds '{value}' is not a number of seconds", "write e.g. delaySeconds: 5")
        if not 0 <= number <= MAX_PROCESSING_DELAY:
            raise invalid(
                f"delaySeconds {value} is out of range", f"write a number of seconds from 0 to {MAX_PROCESSING_DELAY:g}"
            )
        return number


class SimulatorConfig(Element):
    """The simulated SAP system."""

    label: ClassVar[str] = "simulator configuration"
    xml_tag: ClassVar[str] = "simulator"

    system_id: str = "SIM"
    """Three-character system ID, shown in RFC_SYSTEM_INFO and STFC_CONNECTION."""
    release: str = "758"
    system_number: str = "00"
    """Two-digit system number (instance): classic RFC listens on the gateway port 33NN."""
    description: str | None = None
    users: list[SimulatorUser] = Field(default_factory=list)
    scenarios: list[CommunicationScenario] = Field(default_factory=list)
    function_modules: list[str] = Field(default_factory=list)
    """Python function modules to add, as "package.module" (modules that register on import)."""
    parser_files: list[str] = Field(default_factory=list)
    """IDoc type definitions (WE60 parser files); relative paths are relative to this file."""
    idoc_processing: IDocProcessing = Field(default_factory=IDocProcessing)
    """When inbound IDocs are posted: in the inbound call, or later in the background."""

    @field_validator("system_id")
    @classmethod
    def _system_id(cls, value: str) -> str:
        if not re.fullmatch("[A-Z][A-Z0-9]{2}", value):
            raise invalid(f"'{value}' is not an SAP system ID", "write three upper-case letters or digits, e.g. SIM")
        return value

    @field_validator("system_number")
    @classmethod
    def _system_number(cls, value: str) -> str:
        if not re.fullmatch("[0-9]{2}", value):
            raise invalid(f"system number '{value}' is not two digits", 'write systemNumber: "00"')
        return value

    def clients(self) -> set[str]:
        return {user.client for user in self.users}

    def allowlist(self, user: SimulatorUser) -> set[str]:
        """The functions ``user`` may call: their own entries and those of their scenarios."""
        allowed = set(user.functions)
        for scenario in self.scenarios:
            if scenario.name in user.scenarios:
                allowed.update(scenario.functions)
        return allowed


def load_config(path: Path | None = None) -> tuple[SimulatorConfig, Path]:
    """Read a configuration (the default one when ``path`` is None); return it and its folder."""
    source = path or DEFAULT_CONFIG
    return parse_element(read_source(source, SimulatorConfig), SimulatorConfig), source.resolve().parent
