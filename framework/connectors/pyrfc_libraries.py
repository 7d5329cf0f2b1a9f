"""The libraries with PyRFC's API and how each one differs: parameters, semantics, detection.

SAP's PyRFC passes the SAP NW RFC SDK's parameters on; erpl-pyrfc takes fewer and has its own ways
(DER certificate files, router strings without the trailing /H/). A :class:`LibraryProfile` says what
one library takes; :func:`library_parameters` fits mapped parameters to it; :func:`detect_library`
finds out which library is installed and how its tRFC units behave.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idocbridge.connectors.errors import ConnectorConfigurationError
from idocbridge.connectors.pyrfc_params import PyRFCParameters, configuration_error

__all__ = [
    "ERPL_IMPLIED",
    "ERPL_INSPECTED_VERSIONS",
    "ERPL_KNOWN_PARAMETERS",
    "SAP_PYRFC",
    "SDK_PARAMETERS",
    "LibraryProfile",
    "PyRFCLibrary",
    "UnitSemantics",
    "der_certificate_copies",
    "detect_library",
    "erpl_profile",
    "library_parameters",
]

LOG = logging.getLogger("idocbridge.connectors.pyrfc")

SDK_PARAMETERS = frozenset((
    "abap_debug", "alias_user", "ashost", "asxml", "cfit", "client", "codepage", "compression_type", "delta", "dest",
    "extiddata", "extidtype", "getsso2", "group", "gwhost", "gwserv", "lang", "lcheck", "logon_group_check_interval",
    "max_reg_count", "mshost", "msserv", "mysapsso2", "no_compression", "on_cce", "passwd",
    "password_change_enforced", "pcs", "program_id", "proxy_host", "proxy_passwd", "proxy_port", "proxy_user",
    "r3name", "reg_count", "saplogon_id", "saprouter", "serialization_format", "server_name", "snc_lib", "snc_mode",
    "snc_myname", "snc_partnername", "snc_partner_names", "snc_qop", "snc_sso", "sysid", "sysnr", "sys_ids",
    "tls_client_certificate_logon", "tls_client_pse", "tls_server_partner_auth", "tls_server_pse", "tls_trust_all",
    "tpname", "trace", "user", "use_repository_roundtrip_optimization", "use_sapgui", "use_symbolic_names", "use_tls",
    "wshost", "wsport", "x509cert",
))  # fmt: skip
"""Connection parameters of the SAP NW RFC SDK, which SAP's PyRFC passes on to RfcOpenConnection."""

ERPL_KNOWN_PARAMETERS = frozenset((
    "ashost", "sysnr", "client", "user", "passwd", "lang", "port", "program_id", "mshost", "msserv", "group", "sysid",
    "mshost_override", "saprouter", "basxml", "snc_mode", "snc_qop", "snc_myname", "snc_partnername", "snc_lib",
    "wshost", "wsport", "ws_path", "tls_client_cert", "tls_client_key",
))  # fmt: skip
"""erpl-pyrfc 2026.9.3's ``pyrfc._connection.KNOWN_PARAMS``; used when the installed one has none."""

ERPL_IMPLIED = {"trace": "0", "lcheck": "1", "abap_debug": "0", "use_sapgui": "0"}
"""Parameters erpl-pyrfc lacks, with the one value it behaves as anyway: no SDK trace files, logon when
opening, no ABAP debugger, no SAP GUI. Only these values are accepted (and not passed on)."""


@dataclass(frozen=True)
class LibraryProfile:
    """What one library takes: its parameter names and its departures from SAP's PyRFC."""

    name: str
    accepted: frozenset[str]
    implied: Mapping[str, str] = field(default_factory=dict)
    """Parameters it lacks, with the value it behaves as anyway (accepted only with that value)."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """What to do instead, for parameters it cannot take."""
    websocket_needs_certificate: bool = False
    router_without_target: bool = False
    """Takes the SAProuter string without the trailing /H/ and with upper-case markers only."""
    der_certificates: bool = False
    """Reads the client certificate and key as DER files (see :func:`der_certificate_copies`)."""


SAP_PYRFC = LibraryProfile(
    "SAP's PyRFC (SAP NW RFC SDK)",
    SDK_PARAMETERS,
    hints=dict.fromkeys(
        ("tls_client_cert", "tls_client_key"),
        "SAP's PyRFC reads the client certificate from a PSE: set TLS_CLIENT_PSE and "
        'TLS_CLIENT_CERTIFICATE_LOGON="1" in options instead of websocket.clientCertificate and clientKey',
    ),
)


def erpl_profile(known: frozenset[str] = ERPL_KNOWN_PARAMETERS) -> LibraryProfile:
    """erpl-pyrfc, given the parameter names it accepts (``pyrfc._connection.KNOWN_PARAMS``)."""
    return LibraryProfile(
        "erpl-pyrfc",
        known,
        implied=ERPL_IMPLIED,
        hints={
            "trace": 'erpl-pyrfc writes no RFC trace: set sapTrace: false, and TRACE="0" or none',
            "tls_client_pse": "erpl-pyrfc takes websocket.clientCertificate and websocket.clientKey instead",
            "alias_user": "erpl-pyrfc logs on with the user name or, over WebSocket RFC, the client certificate",
            "dest": "erpl-pyrfc reads no sapnwrfc.ini: write the connection parameters into the alias",
        },
        websocket_needs_certificate=True,
        router_without_target=True,
        der_certificates=True,
    )


def library_parameters(params: PyRFCParameters, profile: LibraryProfile) -> PyRFCParameters:
    """``params`` as ``profile``'s library takes them; ConnectorConfigurationError for what it cannot."""
    fitted = PyRFCParameters()
    for name, value in params.items():
        origin = params.origins.get(name, name)
        if name in profile.accepted:
            fitted.put(name, value, origin)
        elif profile.implied.get(name) != value:
            allowed = f' (only with the value "{profile.implied[name]}")' if name in profile.implied else ""
            hint = profile.hints.get(name, f"remove {origin}")
            raise configuration_error(
                f"{profile.name} has no connection parameter {name}{allowed}, set by {origin}", hint
            )
    if profile.websocket_needs_certificate and "wshost" in fitted and "tls_client_cert" not in fitted:
        raise configuration_error(
            f"{profile.name} logs on over WebSocket RFC only with a client certificate",
            "set websocket.clientCertificate and websocket.clientKey",
        )
    if profile.router_without_target and "saprouter" in fitted:
        fitted["saprouter"] = _route_only(fitted["saprouter"])
    return fitted


def _route_only(route: str) -> str:
    """``/h/router/s/3299/H/`` as ``/H/router/S/3299``: the route to the last router, markers upper-case."""
    tokens = route.split("/")[1:]
    pairs = list(zip(tokens[::2], tokens[1::2], strict=False))
    if pairs and pairs[-1][0].upper() == "H" and not pairs[-1][1]:
        pairs.pop()
    return "".join(f"/{marker.upper()}/{value}" for marker, value in pairs)


def der_certificate_copies(params: PyRFCParameters, folder: Path) -> PyRFCParameters:
    """``params`` with the client certificate and key (PEM or DER) rewritten as DER files in ``folder``.

    The key becomes unencrypted PKCS#8, readable by the owner only; delete ``folder`` after closing.
    """
    if "tls_client_cert" not in params:
        return params
    if "tls_client_key" not in params:
        raise configuration_error("websocket.clientCertificate needs its private key", "set websocket.clientKey")
    cert_data = _read(params["tls_client_cert"], "websocket.clientCertificate")
    key_data = _read(params["tls_client_key"], "websocket.clientKey")
    try:
        pem = cert_data.lstrip().startswith(b"-----")
        cert = x509.load_pem_x509_certificate(cert_data) if pem else x509.load_der_x509_certificate(cert_data)
    except ValueError as exc:
        raise configuration_error(
            "websocket.clientCertificate is not an X.509 certificate", "give a PEM or DER file"
        ) from exc
    try:
        pem = key_data.lstrip().startswith(b"-----")
        load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
        key = load(key_data, password=None)
        key_der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    except (ValueError, TypeError) as exc:
        raise configuration_error(
            "websocket.clientKey is not a readable private key", "give an unencrypted PEM or DER key"
        ) from exc
    copies = params.copy()
    for name, data in (("tls_client_cert", cert.public_bytes(serialization.Encoding.DER)), ("tls_client_key", key_der)):
        path = folder / f"{name}.der"
        path.touch(mode=0o600, exist_ok=False)
        path.write_bytes(data)
        copies[name] = str(path)
    return copies


def _read(path: str, label: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise configuration_error(f"cannot read {label} {path}", exc.strerror or "check the path") from exc


_INSTALL_HINT = "install idocbridge[sap] (erpl-pyrfc) or SAP's PyRFC"


class UnitSemantics(StrEnum):
    """What a library's ``fill_and_submit_unit`` and ``confirm_unit`` do in SAP."""

    SUBMIT_EXECUTES = "submit-executes"
    """fill_and_submit_unit runs the call in SAP; confirm_unit lets SAP forget the TID (SAP's PyRFC).
    The connector maps submit and confirm one to one."""
    CONFIRM_EXECUTES = "confirm-executes"
    """fill_and_submit_unit only queues; confirm_unit releases the work (erpl-pyrfc's docstrings). The
    connector calls both in submit_transaction; confirm_transaction has nothing left to do."""


ERPL_INSPECTED_VERSIONS = frozenset({"2026.9.3"})
"""erpl-pyrfc releases whose compiled unit calls were inspected: fill_and_submit_unit calls SAP's
ARFC_DEST_SHIP (runs the call), confirm_unit calls API_CLEAR_TID (forgets the TID), as in SAP's PyRFC,
although their docstrings say otherwise. Other releases get :attr:`UnitSemantics.CONFIRM_EXECUTES`."""


@dataclass(frozen=True)
class PyRFCLibrary:
    """The library behind the connector and how it behaves."""

    name: str
    version: str | None
    connection_class: Callable[..., Any]
    profile: LibraryProfile
    semantics: UnitSemantics
    confirm_anywhere: bool
    """confirm_unit works for any TID on any connection (not only for the unit this connection submitted)."""
    units_checked: bool = True
    """Whether what its unit calls do in SAP was checked (an erpl-pyrfc release not in
    :data:`ERPL_INSPECTED_VERSIONS` was not: tRFC aliases refuse it unless the settings accept the risk)."""


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != "pyrfc":
            raise ConnectorConfigurationError(f"pyrfc cannot be imported ({exc}): {_INSTALL_HINT}") from exc
        raise ConnectorConfigurationError(f"the pyrfc connector needs a PyRFC library: {_INSTALL_HINT}") from exc
    except ImportError as exc:
        raise ConnectorConfigurationError(f"pyrfc cannot be imported ({exc}): {_INSTALL_HINT}") from exc


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _warn_uninspected(version: str) -> None:
    LOG.warning(
        "erpl-pyrfc %s: its unit calls were not inspected; following its documentation (confirm_unit runs the "
        "work), so submit_transaction also confirms. See docs/connectors.md",
        version,
    )


def detect_library(connection_class: Callable[..., Any] | None = None) -> PyRFCLibrary:
    """Describe the installed ``pyrfc`` (or ``connection_class``, a PyRFC-compatible Connection)."""
    if connection_class is None:
        connection_class = _import("pyrfc").Connection
    package = getattr(connection_class, "__module__", "").partition(".")[0]
    erpl = _distribution_version("erpl-pyrfc")
    if package in ("pyrfc", "erpl_pyrfc") and erpl is not None:
        known = getattr(_import("pyrfc._connection"), "KNOWN_PARAMS", None)
        accepted = frozenset(known) if isinstance(known, frozenset | set) else ERPL_KNOWN_PARAMETERS
        inspected = erpl in ERPL_INSPECTED_VERSIONS
        if not inspected:
            _warn_uninspected(erpl)
        semantics = UnitSemantics.SUBMIT_EXECUTES if inspected else UnitSemantics.CONFIRM_EXECUTES
        return PyRFCLibrary("erpl-pyrfc", erpl, connection_class, erpl_profile(accepted), semantics, True, inspected)
    name = "SAP's PyRFC" if package == "pyrfc" else getattr(connection_class, "__qualname__", "a PyRFC library")
    version = _distribution_version("pyrfc") if package == "pyrfc" else None
    return PyRFCLibrary(name, version, connection_class, SAP_PYRFC, UnitSemantics.SUBMIT_EXECUTES, False)
