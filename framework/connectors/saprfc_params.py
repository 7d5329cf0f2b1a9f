"""Connection arguments for saprfclib, from an SAP alias.

The alias's tagged values and connection-string options are first mapped as for every RFC library
(:func:`idocbridge.connectors.pyrfc_params.connection_parameters`: SDK names, secrets resolved,
contradictions refused), then renamed to ``saprfclib.connect``'s keywords by one table,
:data:`idocbridge.models.connection_options.SAPRFC_PARAMETERS`, which models are validated against.
A parameter saprfclib has no keyword for is a configuration error naming its tagged value or option;
nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idocbridge.connectors.pyrfc_params import PyRFCParameters, configuration_error, connection_parameters, redact
from idocbridge.models.alias import SAPAlias
from idocbridge.models.connection_options import SAPRFC_IMPLIED, SAPRFC_PARAMETERS

__all__ = ["SaprfcArguments", "saprfc_arguments", "saprfclib_route"]

_INTEGERS = frozenset({"wsport", "snc_qop"})


@dataclass
class SaprfcArguments:
    """``saprfclib.connect`` keywords, plus the TLS files of WebSocket RFC (which ``connect`` does not take)."""

    keywords: dict[str, Any] = field(default_factory=dict)
    trusted_ca: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    secrets: tuple[str, ...] = ()

    first_router: tuple[str, int] | None = None
    """Where a routed connection connects: the route's first SAProuter (saprfclib connects to ashost)."""

    @property
    def websocket(self) -> bool:
        return "wshost" in self.keywords

    def redacted(self) -> dict[str, str]:
        """The keywords as logs may show them."""
        return redact({name: str(value) for name, value in self.keywords.items()})

    def __repr__(self) -> str:
        return f"SaprfcArguments({self.redacted()!r}, first_router={self.first_router!r})"


def saprfc_arguments(alias: SAPAlias, environ: Mapping[str, str] | None = None) -> SaprfcArguments:
    """The saprfclib connection for ``alias``; ConnectorConfigurationError for what saprfclib cannot take."""
    websocket = alias.websocket
    trusted_ca = websocket.trusted_ca if websocket is not None else None
    if websocket is not None and trusted_ca is not None:
        alias = alias.model_copy(update={"websocket": websocket.model_copy(update={"trusted_ca": None})})
    params: PyRFCParameters = connection_parameters(alias, environ)
    arguments = SaprfcArguments(trusted_ca=Path(trusted_ca) if trusted_ca else None)
    for name, value in params.items():
        origin = params.origins.get(name, name)
        if name == "tls_client_cert":
            arguments.client_certificate = Path(value)
        elif name == "tls_client_key":
            arguments.client_key = Path(value)
        elif name in SAPRFC_PARAMETERS:
            arguments.keywords[SAPRFC_PARAMETERS[name]] = int(value) if name in _INTEGERS else value
        elif SAPRFC_IMPLIED.get(name) != value:
            allowed = f' (only with the value "{SAPRFC_IMPLIED[name]}")' if name in SAPRFC_IMPLIED else ""
            raise configuration_error(f"saprfclib has no connection parameter {name}{allowed}, set by {origin}",
                                      f"remove {origin}, or use connector: pyrfc")  # fmt: skip
    secrets = list(params.secret_values())
    if "saprouter" in arguments.keywords:
        route, arguments.first_router = saprfclib_route(str(arguments.keywords["saprouter"]))
        arguments.keywords["saprouter"] = route
        secrets += _route_passwords(route)
    for label, path in (("trustedCa", arguments.trusted_ca), ("clientCertificate", arguments.client_certificate),
                        ("clientKey", arguments.client_key)):  # fmt: skip
        if path is not None and not path.is_file():
            raise configuration_error(f"websocket.{label} {path} is not a readable file", "check the path")
    if arguments.client_certificate is not None and arguments.client_key is None:
        raise configuration_error("websocket.clientCertificate needs its private key", "set websocket.clientKey")
    arguments.secrets = tuple(secrets)
    return arguments


def _route_passwords(route: str) -> list[str]:
    tokens = route.split("/")[1:]
    return [value for marker, value in zip(tokens[::2], tokens[1::2], strict=False) if marker == "P" and value]


_DEFAULT_ROUTER_PORT = 3299


def saprfclib_route(route: str) -> tuple[str, tuple[str, int]]:
    """An SAProuter string as saprfclib 0.1.8 reads it, and the first router's host and port.

    saprfclib takes a password as ``/P/`` (SAP writes ``/W/``) and sends the closing ``/H/``, which
    stands for the application server, as an empty hop; and it opens the TCP connection to ashost
    instead of the first router. So the route is rewritten to its routers only, and the connector
    connects to the first router itself (``socket_factory``).
    """
    tokens = route.split("/")[1:]
    pairs = [(marker.upper(), value) for marker, value in zip(tokens[::2], tokens[1::2], strict=False)]
    if pairs and pairs[-1][0] == "H" and not pairs[-1][1]:
        pairs.pop()
    if not pairs or pairs[0][0] != "H" or not pairs[0][1]:
        raise configuration_error("routerString does not start with a router (/H/host)", "write /H/host/S/3299/H/")
    rewritten = "".join(f"/{'P' if marker == 'W' else marker}/{value}" for marker, value in pairs)
    service = pairs[1][1] if len(pairs) > 1 and pairs[1][0] == "S" else str(_DEFAULT_ROUTER_PORT)
    if not service.isdigit():
        raise configuration_error(f"the first router's service '{service}' is not a port number", "write its port")
    return rewritten, (pairs[0][1], int(service))
