"""Connection parameters for libraries with PyRFC's API, from an SAP alias.

:func:`connection_parameters` maps the alias's tagged values and connection-string options onto the
keyword arguments of ``pyrfc.Connection``: the SAP NW RFC SDK's parameter names in lower case, with
secret references resolved. :func:`library_parameters` fits them to one library (a
:class:`LibraryProfile`). Whatever cannot be passed on is a ConnectorConfigurationError naming the tagged
value or option: nothing is dropped silently, and no message shows a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idocbridge.connectors.errors import ConnectorConfigurationError
from idocbridge.models.alias import SAPAlias
from idocbridge.models.connection_options import SECRET_OPTIONS
from idocbridge.models.connection_string import parse_connection_string, shown_value
from idocbridge.models.secrets import SecretError, mask_router_string, resolve_secret, split_user

__all__ = [
    "ERPL_IMPLIED",
    "ERPL_KNOWN_PARAMETERS",
    "SAP_PYRFC",
    "SDK_PARAMETERS",
    "LibraryProfile",
    "PyRFCParameters",
    "connection_parameters",
    "der_certificate_copies",
    "erpl_profile",
    "library_parameters",
    "redact",
]

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

_SECRET_PARAMETERS = frozenset(name.lower() for name in SECRET_OPTIONS)
_NOT_IN_SDK = ("COMM_CP", "GRT_DATA", "ICCE", "IDLE_TIMEOUT", "MYSAPSSO", "NEWPASS", "TOUPPER", "TPHOST", "TYPE", "WAN")
_CLASSIC_ONLY = ("ASHOST", "SYSNR", "MSHOST", "MSSERV", "R3NAME", "GROUP", "GWHOST", "GWSERV", "TPNAME", "SAPROUTER")
_WEBSOCKET_ONLY = ("WSHOST", "WSPORT", "TLS_CLIENT_PSE", "TLS_CLIENT_CERTIFICATE_LOGON", "TLS_TRUST_ALL")
_LOAD_BALANCING = {"MSHOST": "mshost", "MSSERV": "msserv", "R3NAME": "sysid", "GROUP": "group"}
_HANDLED = frozenset(
    {*_LOAD_BALANCING, "ASHOST", "SYSNR", "WSHOST", "WSPORT", "CLIENT", "USER", "PASSWD", "LANG", "SAPROUTER", "TRACE"}
    | {"ALIAS_USER"}
)
"""Options mapped together with their tagged values; every other option is passed on in lower case."""


class PyRFCParameters(dict[str, str]):
    """``pyrfc.Connection`` keyword arguments. ``repr`` and ``str`` show secrets as ***.

    ``origins`` says, for each parameter, which tagged value or option it came from.
    """

    def __init__(self, items: Mapping[str, str] | None = None, origins: Mapping[str, str] | None = None) -> None:
        super().__init__(items or {})
        self.origins: dict[str, str] = dict(origins or {})

    def put(self, name: str, value: str, origin: str) -> None:
        self[name] = value
        self.origins[name] = origin

    def copy(self) -> PyRFCParameters:
        return PyRFCParameters(self, self.origins)

    def redacted(self) -> dict[str, str]:
        """The parameters as logs may show them."""
        return redact(self)

    def secret_values(self) -> list[str]:
        return [value for name, value in self.items() if name in _SECRET_PARAMETERS and value]

    def __repr__(self) -> str:
        return f"PyRFCParameters({self.redacted()!r})"

    __str__ = __repr__


def redact(params: Mapping[str, str]) -> dict[str, str]:
    """``params`` with passwords and other secrets as *** and router passwords masked."""
    shown = {name: "***" if name in _SECRET_PARAMETERS else value for name, value in params.items()}
    if "saprouter" in shown:
        shown["saprouter"] = mask_router_string(shown["saprouter"])
    return shown


def _error(message: str, hint: str) -> ConnectorConfigurationError:
    return ConnectorConfigurationError(f"{message}: {hint}")


def connection_parameters(alias: SAPAlias, environ: Mapping[str, str] | None = None) -> PyRFCParameters:
    """The ``pyrfc.Connection(**params)`` arguments for ``alias``, secrets resolved from ``environ``."""
    parsed, problems = parse_connection_string(alias.options or "")
    if problems:
        raise _error(f"the options of SAP alias '{alias.name}' are invalid", problems[0].message)
    options = parsed.options
    params = PyRFCParameters()
    if alias.transport == "websocket":
        _websocket_address(alias, options, params)
    else:
        _classic_address(alias, options, params)
    _logon(alias, options, params, environ)
    _trace(alias, options, params)
    for name, value in options.items():
        if name in _HANDLED:
            continue
        if name in _NOT_IN_SDK:
            hint = "use MYSAPSSO2 (logon ticket version 2)" if name == "MYSAPSSO" else f"remove {name} from options"
            raise _error(f"option {name} has no PyRFC connection parameter (the SAP NW RFC SDK has none)", hint)
        secret = name in SECRET_OPTIONS
        params.put(name.lower(), _secret(value, f"option {name}", environ) if secret else value, f"option {name}")
    return params


def _pick(
    params: PyRFCParameters, name: str, tagged: str | None, label: str, explicit: bool, options: Mapping[str, str]
) -> None:
    """Set ``name`` from the tagged value ``label`` or its option (upper-case ``name``), which must agree."""
    option = name.upper()
    given = options.get(option)
    if given is not None and explicit and tagged is not None and given.upper() != tagged.upper():
        raise _error(
            f"option {option}=\"{shown_value(option, given)}\" contradicts {label} '{shown_value(option, tagged)}'",
            f"remove {option} from options",
        )
    if given is not None and not explicit:
        params.put(name, given, f"option {option}")
    elif tagged is not None:
        params.put(name, tagged, label)


def _refuse(options: Mapping[str, str], names: tuple[str, ...], why: str, hint: str) -> None:
    for name in names:
        if name in options:
            raise _error(f"option {name} {why}", hint)


def _classic_address(alias: SAPAlias, options: Mapping[str, str], params: PyRFCParameters) -> None:
    if alias.websocket is not None:
        raise _error("websocket settings need transport: websocket", "add transport: websocket")
    _refuse(options, _WEBSOCKET_ONLY, "applies to WebSocket RFC", "add transport: websocket, or remove it")
    explicit = alias.model_fields_set
    if "MSHOST" in options:
        for taken, label in (("host", "host"), ("system_number", "systemNumber")):
            if taken in explicit:
                raise _error(f"{label} cannot be combined with load balancing (MSHOST)", f"remove {label}")
        _refuse(options, ("ASHOST", "SYSNR"), "cannot be combined with MSHOST", "remove it or MSHOST")
        for option, name in _LOAD_BALANCING.items():
            if option in options:
                params.put(name, options[option], f"option {option}")
    else:
        _refuse(options, ("MSSERV", "R3NAME", "GROUP"), "belongs to load balancing", "add MSHOST, or remove it")
        _pick(params, "ashost", alias.host, "host", "host" in explicit, options)
        _pick(params, "sysnr", alias.system_number, "systemNumber", "system_number" in explicit, options)
    _pick(params, "saprouter", alias.router_string, "routerString", alias.router_string is not None, options)


def _websocket_address(alias: SAPAlias, options: Mapping[str, str], params: PyRFCParameters) -> None:
    why, hint = "applies to classic RFC (transport cpic)", "remove it: WebSocket RFC connects to host over HTTPS"
    _refuse(options, (*_CLASSIC_ONLY, *(name for name in options if name.startswith("SNC_"))), why, hint)
    if alias.router_string is not None:
        raise _error(f"routerString {why}", hint)
    if "system_number" in alias.model_fields_set:
        raise _error(f"systemNumber {why}", "remove it: WebSocket RFC uses websocket.port")
    ws = alias.websocket
    _pick(params, "wshost", alias.host, "host", "host" in alias.model_fields_set, options)
    explicit_port = ws is not None and "port" in ws.model_fields_set
    _pick(params, "wsport", str(ws.port if ws else 443), "websocket.port", explicit_port, options)
    if ws is None:
        return
    if ws.trusted_ca is not None:
        raise _error(
            "websocket.trustedCa has no PyRFC connection parameter",
            "remove it; SAP's PyRFC reads trusted certificates from the PSE (option TLS_CLIENT_PSE)",
        )
    if ws.client_certificate is not None:
        params.put("tls_client_cert", ws.client_certificate, "websocket.clientCertificate")
    if ws.client_key is not None:
        params.put("tls_client_key", ws.client_key, "websocket.clientKey")


def _logon(
    alias: SAPAlias, options: Mapping[str, str], params: PyRFCParameters, environ: Mapping[str, str] | None
) -> None:
    _pick(params, "client", alias.client, "client", alias.client is not None, options)
    if alias.user is not None:
        _refuse(options, ("USER", "PASSWD"), "repeats the 'user' tagged value", "remove it: user holds both")
        parts = split_user(alias.user)
        if parts is None:
            raise _error("user is not written as <user>/<password>", "write user: NAME/${SAP_PASSWORD}")
        params.put("user", parts[0], "user")
        if parts[1]:
            params.put("passwd", _secret(parts[1], "the password in user", environ), "user")
    else:
        if "USER" in options:
            params.put("user", options["USER"], "option USER")
        if "PASSWD" in options:
            params.put("passwd", _secret(options["PASSWD"], "option PASSWD", environ), "option PASSWD")
    _pick(params, "lang", alias.language, "language", alias.language is not None, options)
    alias_user = alias.websocket.alias_user if alias.websocket else None
    _pick(params, "alias_user", alias_user, "websocket.aliasUser", alias_user is not None, options)


def _trace(alias: SAPAlias, options: Mapping[str, str], params: PyRFCParameters) -> None:
    level = options.get("TRACE")
    if alias.sap_trace and level == "0":
        raise _error('sapTrace: true contradicts option TRACE="0"', "remove one of them")
    if level is not None:
        params.put("trace", level, "option TRACE")
    elif alias.sap_trace:
        params.put("trace", "1", "sapTrace")


def _secret(reference: str, what: str, environ: Mapping[str, str] | None) -> str:
    try:
        return resolve_secret(reference, environ).reveal()
    except SecretError as exc:
        raise ConnectorConfigurationError(f"{what}: {exc}") from exc


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
            raise _error(f"{profile.name} has no connection parameter {name}{allowed}, set by {origin}", hint)
    if profile.websocket_needs_certificate and "wshost" in fitted and "tls_client_cert" not in fitted:
        raise _error(
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
        raise _error("websocket.clientCertificate needs its private key", "set websocket.clientKey")
    cert_data = _read(params["tls_client_cert"], "websocket.clientCertificate")
    key_data = _read(params["tls_client_key"], "websocket.clientKey")
    try:
        pem = cert_data.lstrip().startswith(b"-----")
        cert = x509.load_pem_x509_certificate(cert_data) if pem else x509.load_der_x509_certificate(cert_data)
    except ValueError as exc:
        raise _error("websocket.clientCertificate is not an X.509 certificate", "give a PEM or DER file") from exc
    try:
        pem = key_data.lstrip().startswith(b"-----")
        load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
        key = load(key_data, password=None)
        key_der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    except (ValueError, TypeError) as exc:
        raise _error("websocket.clientKey is not a readable private key", "give an unencrypted PEM or DER key") from exc
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
        raise _error(f"cannot read {label} {path}", exc.strerror or "check the path") from exc
