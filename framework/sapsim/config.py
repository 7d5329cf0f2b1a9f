"""The simulator's configuration: system ID, clients, users, allowlists, function modules, IDoc types.

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

__all__ = ["DEFAULT_CONFIG", "CommunicationScenario", "SimulatorConfig", "SimulatorUser", "load_config"]

DEFAULT_CONFIG = Path(__file__).with_name("default_config.yaml")


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
