"""The connection-string options an SAP alias may carry, with the values each one allows.

Names are those of the SAP RFC libraries (SAP-FACTS §2). Each entry says what the option does, which
values it takes (None: any string), and which tagged value it would duplicate, if any.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KNOWN_OPTIONS", "SAPRFC_IMPLIED", "SAPRFC_PARAMETERS", "SECRET_OPTIONS", "OptionSpec"]


@dataclass(frozen=True)
class OptionSpec:
    """One known option: its meaning, allowed values (None: free text) and overlapping tagged value."""

    description: str
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    tagged_value: str | None = None


_ZERO_ONE = ("0", "1")

KNOWN_OPTIONS: dict[str, OptionSpec] = {
    # Logon and addressing. Those that repeat a tagged value are checked against it.
    "ASHOST": OptionSpec("application server host (no load balancing)", tagged_value="host"),
    "SYSNR": OptionSpec("SAP system number", pattern=r"^[0-9]{2}$", tagged_value="systemNumber"),
    "CLIENT": OptionSpec("SAP logon client", pattern=r"^[0-9]{3}$", tagged_value="client"),
    "USER": OptionSpec("SAP logon user", tagged_value="user"),
    "PASSWD": OptionSpec("SAP logon password", tagged_value="user"),
    "LANG": OptionSpec("logon language", pattern=r"^[A-Za-z0-9]{1,2}$", tagged_value="language"),
    "SAPROUTER": OptionSpec("SAProuter string", tagged_value="routerString"),
    "DEST": OptionSpec("destination in saprfc.ini / sapnwrfc.ini"),
    "TYPE": OptionSpec("RFC server type: 2 (R/2), 3 (R/3) or E (external)", ("2", "3", "E")),
    "GWHOST": OptionSpec("SAP gateway host (R/2 or external server)"),
    "GWSERV": OptionSpec("SAP gateway service (R/2 or external server)"),
    "MSHOST": OptionSpec("message server host (load balancing)"),
    "MSSERV": OptionSpec("message server service (load balancing)"),
    "R3NAME": OptionSpec("SAP system ID (load balancing)", pattern=r"^[A-Za-z0-9]{3}$"),
    "GROUP": OptionSpec("logon group of application servers (load balancing)"),
    "TPHOST": OptionSpec("host of the external RFC server program"),
    "TPNAME": OptionSpec("path of the external RFC server program, or registered program ID"),
    "SAPLOGON_ID": OptionSpec("entry name in SAP Logon"),
    # Behaviour of the connection.
    "ABAP_DEBUG": OptionSpec("start the ABAP debugger: 0 no, 1 yes", _ZERO_ONE),
    "TRACE": OptionSpec("RFC trace level: 0 off, 1 brief, 2 verbose, 3 full", ("0", "1", "2", "3")),
    "LCHECK": OptionSpec("logon check when opening: 0 no, 1 yes", _ZERO_ONE),
    "CODEPAGE": OptionSpec("code page of the connection", pattern=r"^[0-9]{4}$"),
    "COMM_CP": OptionSpec("communication code page with a non-Unicode system", pattern=r"^[0-9]{4}$"),
    "CFIT": OptionSpec("substitute for characters that cannot be converted (conversion fault token)"),
    "ICCE": OptionSpec("ignore character conversion errors: 0 no, 1 yes", _ZERO_ONE),
    "PCS": OptionSpec("partner's character size: 1 non-Unicode, 2 Unicode", ("1", "2")),
    "IDLE_TIMEOUT": OptionSpec("seconds after which the server closes an idle connection", pattern=r"^[0-9]+$"),
    "TOUPPER": OptionSpec("convert user and password to upper case: 0 no, 1 yes", _ZERO_ONE),
    "USE_SAPGUI": OptionSpec("start SAP GUI: 0 no, 1 yes, 2 invisible", ("0", "1", "2")),
    "GRT_DATA": OptionSpec("SAProuter data for SAP GUI (/H/.../P/password)"),
    "WAN": OptionSpec("compress for a wide area network: 0 LAN (over 8000 bytes), 1 WAN (over 250 bytes)", _ZERO_ONE),
    "NEWPASS": OptionSpec("change the password during logon"),
    # Secure network communication.
    "SNC_MODE": OptionSpec("use SNC: 0 no, 1 yes", _ZERO_ONE),
    "SNC_LIB": OptionSpec("path of the SNC library"),
    "SNC_MYNAME": OptionSpec("own SNC name"),
    "SNC_PARTNERNAME": OptionSpec("SNC name of the partner (application or message server)"),
    "SNC_QOP": OptionSpec("SNC quality of protection: 1, 2, 3, 8 or 9", ("1", "2", "3", "8", "9")),
    # Alternative logons.
    "ALIAS_USER": OptionSpec("alias user name instead of (or matching) USER"),
    "EXTIDDATA": OptionSpec("external user ID of an external authentication system"),
    "EXTIDTYPE": OptionSpec("kind of external identity (with EXTIDDATA)"),
    "GETSSO2": OptionSpec("request an SSO ticket (cookie version 2) at logon: 0 no, 1 yes", _ZERO_ONE),
    "MYSAPSSO": OptionSpec("SAP logon ticket, cookie version 1"),
    "MYSAPSSO2": OptionSpec("SAP logon ticket, cookie version 2"),
    "X509CERT": OptionSpec("X.509 certificate used instead of a password"),
    # WebSocket RFC.
    "WSHOST": OptionSpec("WebSocket RFC host", tagged_value="host"),
    "WSPORT": OptionSpec("WebSocket RFC port", pattern=r"^[0-9]{1,5}$", tagged_value="websocket.port"),
    "TLS_CLIENT_PSE": OptionSpec("PSE file holding the TLS client certificate (SAP NW RFC SDK)"),
    "TLS_CLIENT_CERTIFICATE_LOGON": OptionSpec("log on with the TLS client certificate: 0 no, 1 yes", _ZERO_ONE),
    "TLS_TRUST_ALL": OptionSpec("trust every server certificate: 0 no, 1 yes (never in production)", _ZERO_ONE),
}

SECRET_OPTIONS = frozenset({"PASSWD", "NEWPASS", "MYSAPSSO", "MYSAPSSO2", "X509CERT", "EXTIDDATA"})
"""Options whose values are secrets: never shown, and warned about when written literally."""

MASKED_OPTIONS = frozenset({"SAPROUTER", "GRT_DATA"})
"""Options that may carry a password inside (/W/ or /P/ parts of a router string): shown masked."""


SAPRFC_PARAMETERS: dict[str, str] = {
    "ashost": "ashost",
    "sysnr": "sysnr",
    "client": "client",
    "user": "user",
    "passwd": "passwd",
    "lang": "lang",
    "saprouter": "saprouter",
    "mshost": "mshost",
    "msserv": "msserv",
    "group": "group",
    "sysid": "sysid",
    "gwhost": "gwhost",
    "wshost": "wshost",
    "wsport": "wsport",
    "snc_lib": "snc_lib",
    "snc_partnername": "snc_partnername",
    "snc_myname": "snc_myname",
    "snc_qop": "snc_qop",
    "snc_sso": "snc_sso",
}
"""What the saprfc connector takes: SAP NW RFC SDK parameter (an option's name in lower case; R3NAME
is ``sysid``) -> ``saprfclib.connect`` keyword (saprfclib 0.1.8). Models are checked against it when
they are validated, and the connector renames by it: one list."""

SAPRFC_IMPLIED: dict[str, str] = {"trace": "0", "lcheck": "1", "abap_debug": "0", "use_sapgui": "0"}
"""SDK parameters saprfclib has no keyword for, with the one value it behaves as anyway (accepted and
not passed on): no SDK trace files, logon when opening, no ABAP debugger, no SAP GUI."""
