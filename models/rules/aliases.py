"""SAP aliases: mandatory tagged values, WebSocket RFC settings, the connection string, secrets."""

from __future__ import annotations

from idocbridge.models.alias import SAPAlias
from idocbridge.models.connection_options import KNOWN_OPTIONS, SAPRFC_IMPLIED, SAPRFC_PARAMETERS, SECRET_OPTIONS
from idocbridge.models.connection_string import ConnectionString, parse_connection_string, shown_value
from idocbridge.models.diagnostics import Location
from idocbridge.models.rules.context import Checker
from idocbridge.models.secrets import is_reference, split_user

__all__ = ["check", "check_alias"]

_LOGON_WITHOUT_PASSWORD = ("X509CERT", "MYSAPSSO", "MYSAPSSO2", "EXTIDDATA")


def check(checker: Checker) -> None:
    for alias in checker.index.model.aliases:
        check_alias(checker, alias)


def check_alias(checker: Checker, alias: SAPAlias) -> None:
    """All rules that involve more than one tagged value of ``alias``."""
    options = _check_options(checker, alias)
    _check_transport(checker, alias)
    _check_packets(checker, alias)
    _check_logon(checker, alias, options)
    _check_conflicts(checker, alias, options)
    if alias.connector == "saprfc":
        _check_saprfc(checker, alias, options)


def _option_location(alias: SAPAlias, offset: int) -> Location | None:
    """Where the option at ``offset`` of the 'options' value is written."""
    node = alias.source.child("options") if alias.source else None
    return node.text_location(offset) if node is not None else alias.location("options")


def _check_options(checker: Checker, alias: SAPAlias) -> ConnectionString:
    parsed, problems = parse_connection_string(alias.options or "")
    for problem in problems:
        location = _option_location(alias, problem.offset)
        checker.error(
            alias,
            "options",
            f"in the options of SAP alias '{alias.name}': {problem.message}",
            problem.hint,
            location=location,
        )
    for name in SECRET_OPTIONS & parsed.options.keys():
        if not is_reference(parsed.options[name]):
            checker.warning(
                alias,
                "options",
                f"option {name} of SAP alias '{alias.name}' holds a literal secret",
                f'write {name}="${{SAP_{name}}}" and set SAP_{name} in the environment',
            )
    return parsed


def _check_packets(checker: Checker, alias: SAPAlias) -> None:
    if alias.idoc_packets is not None and alias.protocol != "trfc":
        checker.error(
            alias,
            "idoc_packets",
            f"SAP alias '{alias.name}' gathers IDoc packets but has protocol {alias.protocol}",
            "IDoc packets are tRFC units: write protocol: trfc, or remove idocPackets",
            at_key=True,
        )


def _check_transport(checker: Checker, alias: SAPAlias) -> None:
    if alias.connector == "simulator" and alias.transport != "websocket":
        message = f"SAP alias '{alias.name}' uses the simulator over transport {alias.transport}"
        checker.error(alias, "connector", message, "the simulator speaks WebSocket RFC: add transport: websocket")
    if alias.transport == "cpic":
        if alias.websocket is not None:
            checker.error(
                alias,
                "websocket",
                f"SAP alias '{alias.name}' has WebSocket settings but transport cpic",
                "add transport: websocket, or remove the websocket settings",
                at_key=True,
            )
        return
    ws = alias.websocket
    if ws is None:
        return
    if ws.client_certificate and not ws.client_key:
        checker.error(
            ws,
            "client_certificate",
            "a client certificate needs its private key",
            "add clientKey: <path of the PEM key file>",
        )
    if ws.client_key and not ws.client_certificate:
        checker.error(
            ws,
            "client_key",
            "a client key needs its certificate",
            "add clientCertificate: <path of the PEM certificate file>",
        )
    if ws.client_by_hostname and alias.client is not None:
        checker.error(
            alias,
            "client",
            f"SAP alias '{alias.name}' sets a client and takes the client by host name",
            "remove client, or set websocket.clientByHostname: false",
        )


def _check_logon(checker: Checker, alias: SAPAlias, options: ConnectionString) -> None:
    ws = alias.websocket
    by_hostname = alias.transport == "websocket" and ws is not None and ws.client_by_hostname
    if alias.client is None and not by_hostname and "CLIENT" not in options:
        hint = 'add client: "100"'
        if alias.transport == "websocket":
            hint += ", or websocket: {clientByHostname: true} where the system takes the client by host name"
        checker.error(alias, "client", f"SAP alias '{alias.name}' has no client", hint, at_key=True)
    certificate = alias.transport == "websocket" and ws is not None and ws.client_certificate is not None
    other_logon = any(name in options for name in _LOGON_WITHOUT_PASSWORD)
    if alias.user is None and not (certificate or other_logon or "USER" in options):
        checker.error(
            alias,
            "user",
            f"SAP alias '{alias.name}' has no user",
            "add user: NAME/${SAP_PASSWORD}, or log on by X.509 certificate (WebSocket RFC)",
            at_key=True,
        )
    if alias.user is not None:
        parts = split_user(alias.user)
        password = parts[1] if parts else ""
        if "${" in password and not is_reference(password):
            checker.error(
                alias, "user", "the password reference is malformed", "write ${ENV_VAR} or ${file:/path/to/file}"
            )
        elif parts and password and not is_reference(password):
            checker.warning(
                alias,
                "user",
                f"SAP alias '{alias.name}' holds a literal password",
                f"write user: {parts[0]}/${{SAP_PASSWORD}} and set SAP_PASSWORD in the environment "
                "(or ${file:/run/secrets/sap_password})",
            )


_TAGGED: dict[str, str] = {
    "ASHOST": "host", "WSHOST": "host", "SYSNR": "system_number", "CLIENT": "client", "LANG": "language",
    "SAPROUTER": "router_string",
}  # fmt: skip


def _check_conflicts(checker: Checker, alias: SAPAlias, options: ConnectionString) -> None:
    for name, value in options.options.items():
        at = _option_location(alias, options.offsets[name])
        spec = KNOWN_OPTIONS.get(name)
        if spec is None or spec.tagged_value is None:
            continue
        if name in ("USER", "PASSWD"):
            if alias.user is not None:
                checker.error(
                    alias,
                    "options",
                    f"option {name} repeats the 'user' tagged value of SAP alias '{alias.name}'",
                    f"remove {name} from options: user holds user and password",
                    location=at,
                )
            continue
        if name == "WSPORT":
            tagged = str(alias.websocket.port) if alias.websocket else None
            field, shown = "websocket", "websocket.port"
        else:
            field = _TAGGED[name]
            raw = getattr(alias, field)
            tagged = None if raw is None else str(raw)
            shown = alias.alias_of(field)
        set_explicitly = field in alias.model_fields_set
        if not set_explicitly:
            checker.error(
                alias,
                "options",
                f"option {name} of SAP alias '{alias.name}' belongs in the tagged value '{shown}'",
                f'remove {name} from options and write {shown}: "{shown_value(name, value)}"',
                location=at,
            )
        elif tagged is not None and tagged.upper() != value.upper():
            checker.error(
                alias,
                "options",
                f'option {name}="{shown_value(name, value)}" contradicts {shown} '
                f"'{shown_value(name, tagged)}' of SAP alias '{alias.name}'",
                f"remove {name} from options: the tagged value '{shown}' sets it",
                location=at,
            )
        else:
            checker.warning(
                alias,
                "options",
                f"option {name} repeats {shown} of SAP alias '{alias.name}'",
                f"remove {name} from options",
                location=at,
            )
    if "ASHOST" not in options and "MSHOST" in options and "host" in alias.model_fields_set:
        checker.error(
            alias,
            "options",
            f"SAP alias '{alias.name}' names a host and a message server (MSHOST)",
            "for load balancing remove host; for one application server remove MSHOST",
            location=_option_location(alias, options.offsets["MSHOST"]),
        )
    if "MSHOST" in options and not ({"R3NAME", "MSSERV"} & options.options.keys()):
        checker.error(
            alias,
            "options",
            "load balancing (MSHOST) needs the system ID or the message server service",
            'add R3NAME="<SID>" or MSSERV="<service>" to options',
            location=_option_location(alias, options.offsets["MSHOST"]),
        )


_SAPRFC_ALTERNATIVE = "or use connector: pyrfc, which passes every SAP NW RFC SDK parameter on"


def _check_saprfc(checker: Checker, alias: SAPAlias, options: ConnectionString) -> None:
    """What the saprfc connector cannot pass to saprfclib, found when the model is validated.

    Options with errors of their own (unknown, invalid value, given twice) are reported once, above.
    """
    has_errors = bool(parse_connection_string(alias.options or "")[1])
    for name, value in {} if has_errors else options.options.items():
        parameter = "sysid" if name == "R3NAME" else name.lower()
        if parameter in SAPRFC_PARAMETERS or SAPRFC_IMPLIED.get(parameter) == value:
            continue
        only = f' (only with the value "{SAPRFC_IMPLIED[parameter]}")' if parameter in SAPRFC_IMPLIED else ""
        checker.error(
            alias,
            "options",
            f"option {name} of SAP alias '{alias.name}': the saprfc connector has no such parameter{only}",
            f"remove {name}, {_SAPRFC_ALTERNATIVE}",
            location=_option_location(alias, options.offsets[name]),
        )
    if alias.sap_trace:
        checker.error(
            alias,
            "sap_trace",
            f"SAP alias '{alias.name}' asks for RFC trace files, which the saprfc connector does not write",
            f"remove sapTrace, {_SAPRFC_ALTERNATIVE}",
        )
    if alias.websocket is not None and alias.websocket.alias_user:
        checker.error(
            alias.websocket,
            "alias_user",
            f"SAP alias '{alias.name}' logs on by alias user, which the saprfc connector cannot",
            f"log on with the user name instead, {_SAPRFC_ALTERNATIVE}",
        )
