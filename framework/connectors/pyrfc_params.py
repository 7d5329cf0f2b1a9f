"""Connection parameters for libraries with PyRFC's API, from an SAP alias.

:func:`connection_parameters` maps the alias's tagged values and connection-string options onto the
keyword arguments of ``pyrfc.Connection``: the SAP NW RFC SDK's parameter names in lower case, with
secret references resolved; ``pyrfc_libraries.library_parameters`` then fits them to one library.
Whatever cannot be passed on is a ConnectorConfigurationError naming the tagged value or option:
nothing is dropped silently, and no message shows a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from idocbridge.connectors.errors import ConnectorConfigurationError
from idocbridge.models.alias import SAPAlias
from idocbridge.models.connection_options import SECRET_OPTIONS
from idocbridge.models.connection_string import parse_connection_string, shown_value
from idocbridge.models.secrets import SecretError, mask_router_string, resolve_secret, split_user

__all__ = ["PyRFCParameters", "configuration_error", "connection_parameters", "redact"]

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


def configuration_error(message: str, hint: str) -> ConnectorConfigurationError:
    return ConnectorConfigurationError(f"{message}: {hint}")


def connection_parameters(alias: SAPAlias, environ: Mapping[str, str] | None = None) -> PyRFCParameters:
    """The ``pyrfc.Connection(**params)`` arguments for ``alias``, secrets resolved from ``environ``."""
    parsed, problems = parse_connection_string(alias.options or "")
    if problems:
        raise configuration_error(f"the options of SAP alias '{alias.name}' are invalid", problems[0].message)
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
            raise configuration_error(
                f"option {name} has no PyRFC connection parameter (the SAP NW RFC SDK has none)", hint
            )
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
        raise configuration_error(
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
            raise configuration_error(f"option {name} {why}", hint)


def _classic_address(alias: SAPAlias, options: Mapping[str, str], params: PyRFCParameters) -> None:
    if alias.websocket is not None:
        raise configuration_error("websocket settings need transport: websocket", "add transport: websocket")
    _refuse(options, _WEBSOCKET_ONLY, "applies to WebSocket RFC", "add transport: websocket, or remove it")
    explicit = alias.model_fields_set
    if "MSHOST" in options:
        for taken, label in (("host", "host"), ("system_number", "systemNumber")):
            if taken in explicit:
                raise configuration_error(f"{label} cannot be combined with load balancing (MSHOST)", f"remove {label}")
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
        raise configuration_error(f"routerString {why}", hint)
    if "system_number" in alias.model_fields_set:
        raise configuration_error(f"systemNumber {why}", "remove it: WebSocket RFC uses websocket.port")
    ws = alias.websocket
    _pick(params, "wshost", alias.host, "host", "host" in alias.model_fields_set, options)
    explicit_port = ws is not None and "port" in ws.model_fields_set
    _pick(params, "wsport", str(ws.port if ws else 443), "websocket.port", explicit_port, options)
    if ws is None:
        return
    if ws.trusted_ca is not None:
        raise configuration_error(
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
            raise configuration_error("user is not written as <user>/<password>", "write user: NAME/${SAP_PASSWORD}")
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
        raise configuration_error('sapTrace: true contradicts option TRACE="0"', "remove one of them")
    if level is not None:
        params.put("trace", level, "option TRACE")
    elif alias.sap_trace:
        params.put("trace", "1", "sapTrace")


def _secret(reference: str, what: str, environ: Mapping[str, str] | None) -> str:
    try:
        return resolve_secret(reference, environ).reveal()
    except SecretError as exc:
        raise ConnectorConfigurationError(f"{what}: {exc}") from exc
