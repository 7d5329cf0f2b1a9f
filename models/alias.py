"""The SAP alias (<<SAPAlias>>): a connection to an SAP system and its tagged values."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator

from idocbridge.models.connection_string import ConnectionString, parse_connection_string
from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier, invalid
from idocbridge.models.secrets import is_reference, mask_router_string, split_user
from idocbridge.models.service_names import router_service_problem

__all__ = [
    "AliasSettings",
    "ConnectorKind",
    "IDocPacketSettings",
    "Protocol",
    "SAPAlias",
    "Transport",
    "WebSocketSettings",
]

Protocol = Literal["rfc", "trfc"]
Transport = Literal["cpic", "websocket"]
ConnectorKind = Literal["pyrfc", "saprfc", "simulator"]

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ROUTER = re.compile(r"^(/[HSPWhspw]/[^/]+)+(/[Hh]/)?$")


def _check_host(value: str) -> str:
    scheme = _SCHEME.match(value)
    if scheme:
        bare = value[scheme.end() :].split("/", maxsplit=1)[0]
        raise invalid(
            f"host '{value}' has a '{scheme.group(0)}' prefix",
            f"write the host name alone, without scheme or path: host: {bare}",
        )
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise invalid(
            f"'{value}' is not a valid host name",
            "a host name holds letters, digits, '-' and '.', e.g. sap.example.com, or an IP address",
        )
    return value


def _check_client(value: str) -> str:
    if not re.fullmatch(r"[0-9]{3}", value):
        raise invalid(f"client '{value}' is not a three-digit SAP client", 'write three digits, e.g. client: "100"')
    return value


Host = Annotated[str, AfterValidator(_check_host)]
Client = Annotated[str, AfterValidator(_check_client)]


class WebSocketSettings(Element):
    """WebSocket RFC settings (destination type W): always TLS, port 443 unless told otherwise."""

    label: ClassVar[str] = "WebSocket settings"
    xml_tag: ClassVar[str] = "websocket"

    port: int = Field(default=443, ge=1, le=65535)
    """HTTPS port of the SAP system's ICM (icm/server_port_* with PROT=HTTPS)."""
    client_certificate: str | None = None
    """PEM file with the X.509 client certificate for logon by certificate (mutual TLS)."""
    client_key: str | None = None
    """PEM file with the private key of the client certificate."""
    trusted_ca: str | None = None
    """PEM file with the CA certificates that sign the server's certificate."""
    alias_user: str | None = None
    """Alias user name used for logon instead of the user name."""
    client_by_hostname: bool = False
    """The SAP system derives the client from its host name (SAP BTP ABAP environment)."""


class IDocPacketSettings(Element):
    """How the outbox gathers the IDocs sent to an alias into packets: one tRFC unit for many IDocs."""

    label: ClassVar[str] = "IDoc packet settings"
    xml_tag: ClassVar[str] = "idocPackets"

    size: int = Field(default=100, ge=2, le=1000)
    """At most this many IDocs per packet (2-1000). SAP's guidance: 10-200 for most IDoc types, 1-10 for very large
    ones (leave packets off for those, or use a small size)."""
    max_wait_ms: int = Field(default=0, ge=0, le=600_000)
    """Milliseconds a new IDoc may wait for others to join its packet; 0 packs only what is already waiting."""


class AliasSettings(Element):
    """The tagged values of an SAP alias that deployment settings may override."""

    host: Host = "localhost"
    """Application server or gateway host (for WebSocket RFC: the API host, without https://)."""
    client: Client | None = None
    """SAP logon client: three digits."""
    user: str | None = None
    """User and password as <user>/<password>; write the password as ${ENV_VAR} or ${file:/path}."""
    system_number: str = "00"
    """SAP system number: two digits."""
    router_string: str | None = None
    """SAProuter string prepended to the host, e.g. /H/saprouter.example.com/S/3299/H/."""
    pool_size: int | None = Field(default=None, ge=1, le=1000)
    """Maximum parallel connections for this alias's connection string (default: the composite's)."""
    language: str | None = None
    """Logon language: 1-character SAP code (E, D) or 2-letter ISO code (EN, DE)."""
    sap_trace: bool = False
    """Write RFC trace files into the service's directory."""
    options: str | None = None
    """Connection string: blank-separated name="value" pairs."""
    transport: Transport = "cpic"
    """cpic (classic RFC through the gateway) or websocket (WebSocket RFC over HTTPS)."""
    websocket: WebSocketSettings | None = None
    """WebSocket RFC settings; only with transport: websocket."""
    connector: ConnectorKind = "saprfc"
    """saprfc (SAP RFC in pure Python, saprfclib), pyrfc (a library with PyRFC's API) or simulator (JSON protocol)."""
    idoc_packets: IDocPacketSettings | None = None
    """Gather the IDocs sent to this alias over tRFC into packets (see docs/operations.md); off when absent."""
    follow_idoc_status: bool = True
    """After a tRFC unit of IDocs is confirmed, ask SAP which IDocs it created and follow their status until it is
    final (INBOUND_IDOCS_FOR_TID, GET_STATUS_FROM_IDOCNR, IDOC_READ_COMPLETELY; see docs/monitor.md). Turn it off
    where the SAP user may not call them; it also stops by itself when SAP refuses the authorisation."""

    @field_validator("system_number")
    @classmethod
    def _system_number(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{2}", value):
            raise invalid(f"system number '{value}' is not two digits", 'write two digits, e.g. systemNumber: "00"')
        return value

    @field_validator("router_string")
    @classmethod
    def _router_string(cls, value: str | None) -> str | None:
        if value is not None and not _ROUTER.match(value):
            raise invalid(
                f"'{mask_router_string(value)}' is not a SAProuter string",
                "a router string is a chain of /H/host, /S/service and /W/password parts, "
                "e.g. /H/saprouter.example.com/S/3299/H/",
            )
        if value is not None and (problem := router_service_problem(value)) is not None:
            raise invalid(problem.message, problem.hint)
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"[A-Za-z0-9]{1,2}", value):
            raise invalid(
                f"'{value}' is not an SAP logon language",
                "write a 1-character SAP code (E, D) or a 2-letter ISO code (EN, DE)",
            )
        return value.upper()

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if split_user(value) is None:
            raise invalid(
                "user is not written as <user>/<password>",
                "write user: NAME/${SAP_PASSWORD} and set SAP_PASSWORD in the environment",
            )
        return value

    def parsed_options(self) -> ConnectionString:
        """The options parsed (problems are reported by model validation)."""
        return parse_connection_string(self.options or "")[0]

    def user_name(self) -> str | None:
        parts = split_user(self.user) if self.user else None
        return parts[0] if parts else None

    def has_literal_password(self) -> bool:
        parts = split_user(self.user) if self.user else None
        return bool(parts and parts[1] and not is_reference(parts[1]))


class _AliasIdentity(Element):
    name: Identifier
    """The alias name adapters refer to."""
    protocol: Protocol
    """rfc for synchronous calls, trfc for transactional calls (tRFC)."""
    description: str | None = None


class SAPAlias(AliasSettings, _AliasIdentity):
    """<<SAPAlias>>: a named connection to an SAP system used by the adapters."""

    label: ClassVar[str] = "SAP alias"
    xml_tag: ClassVar[str] = "alias"
