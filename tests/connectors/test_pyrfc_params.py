"""The mapping from SAP aliases to PyRFC connection parameters, and its fitting to each library.

Aliases are loaded through the model loader, so every case is a model that passes validation. ``CASES``
is shared with test_pyrfc_connector.py, which opens every mapped set with the real library.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idocbridge.connectors.errors import ConnectorConfigurationError
from idocbridge.connectors.pyrfc_libraries import (
    ERPL_IMPLIED,
    SAP_PYRFC,
    SDK_PARAMETERS,
    der_certificate_copies,
    erpl_profile,
    library_parameters,
)
from idocbridge.connectors.pyrfc_params import PyRFCParameters, connection_parameters, redact
from idocbridge.models import SAPAlias, load_model_text

PASSWORD = "s3cr3t-Pa55/w0rd"
X509 = "MIIBcertificate-secret"
ENV = {"SAP_PASSWORD": PASSWORD, "SAP_X509CERT": X509}


def alias(**fields: Any) -> SAPAlias:
    """An alias that passes the model's validation, with the same rules as in production."""
    fields = {"name": "A", "protocol": "trfc", "connector": "pyrfc", **fields}
    model = {"name": "T", "version": "1.0", "aliases": [fields]}
    return load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]


def raw_alias(**fields: Any) -> SAPAlias:
    """An alias that skips the model's cross-field rules (the mapping must still refuse it)."""
    return SAPAlias.model_validate({"name": "A", "protocol": "trfc", "connector": "pyrfc", **fields})


@dataclass(frozen=True)
class Endpoint:
    """Where a case points: a host, a port for routers, message servers and WebSocket RFC, a system number."""

    host: str = "sapqas.example.com"
    port: int = 3299
    sysnr: str = "00"
    folder: Path = Path("/run/idocbridge")


@dataclass(frozen=True)
class Case:
    id: str
    fields: Callable[[Endpoint], dict[str, Any]]
    expected: Callable[[Endpoint], dict[str, str]]
    erpl_refuses: str | None = None
    """Part of the ConnectorConfigurationError when fitted to erpl-pyrfc (None: erpl-pyrfc takes it)."""
    sap_refuses: str | None = None


USER = "IDOCUSER/${SAP_PASSWORD}"
LOGON = {"client": "100", "user": "IDOCUSER", "passwd": PASSWORD}


def _direct(e: Endpoint) -> dict[str, str]:
    return {"ashost": e.host, "sysnr": e.sysnr, **LOGON}


def _ws(e: Endpoint, **websocket: Any) -> dict[str, Any]:
    return {"transport": "websocket", "host": e.host, "websocket": {"port": e.port, **websocket}}


def _cert(e: Endpoint) -> dict[str, str]:
    return {"clientCertificate": str(e.folder / "client.pem"), "clientKey": str(e.folder / "client.key")}


def _tls(e: Endpoint) -> dict[str, str]:
    return {"tls_client_cert": str(e.folder / "client.pem"), "tls_client_key": str(e.folder / "client.key")}


def _app(e: Endpoint, **extra: Any) -> dict[str, Any]:
    return {"host": e.host, "systemNumber": e.sysnr, "client": "100", "user": USER, **extra}


SNC = 'SNC_MODE="1" SNC_QOP="9" SNC_MYNAME="p:CN=IDOC" SNC_PARTNERNAME="p:CN=QAS" SNC_LIB="/opt/sap/libsapcrypto.so"'
SNC_PARAMS = {
    "snc_mode": "1",
    "snc_qop": "9",
    "snc_myname": "p:CN=IDOC",
    "snc_partnername": "p:CN=QAS",
    "snc_lib": "/opt/sap/libsapcrypto.so",
}
PSE = 'TLS_CLIENT_PSE="/sec/rfc.pse" TLS_CLIENT_CERTIFICATE_LOGON="1"'


def _balanced(e: Endpoint) -> dict[str, Any]:
    return {
        "client": "100",
        "user": USER,
        "options": f'MSHOST="{e.host}" MSSERV="{e.port}" R3NAME="QAS" GROUP="PUBLIC"',
    }


CASES = [
    Case("direct", lambda e: _app(e, language="EN"), lambda e: {**_direct(e), "lang": "EN"}),
    Case(
        "direct-docs-example-options",
        lambda e: _app(e, options='LCHECK="1" TRACE="0"'),
        lambda e: {**_direct(e), "lcheck": "1", "trace": "0"},
    ),
    Case("sap-language", lambda e: _app(e, language="d"), lambda e: {**_direct(e), "lang": "D"}),
    Case(
        "message-server",
        _balanced,
        lambda e: {"mshost": e.host, "msserv": str(e.port), "sysid": "QAS", "group": "PUBLIC", **LOGON},
    ),
    Case(
        "saprouter",
        lambda e: _app(e, host="sapapp.internal", routerString=f"/H/{e.host}/S/{e.port}/H/"),
        lambda e: {**_direct(e), "ashost": "sapapp.internal", "saprouter": f"/H/{e.host}/S/{e.port}/H/"},
    ),
    Case(
        "snc",
        lambda e: _app(e, user="IDOCUSER/", options=SNC),
        lambda e: {"ashost": e.host, "sysnr": e.sysnr, "client": "100", "user": "IDOCUSER", **SNC_PARAMS},
    ),
    Case(
        "websocket-certificate",
        lambda e: _ws(e, clientByHostname=True, **_cert(e)),
        lambda e: {"wshost": e.host, "wsport": str(e.port), **_tls(e)},
        sap_refuses="TLS_CLIENT_PSE",
    ),
    Case(
        "websocket-certificate-and-password",
        lambda e: {**_ws(e, **_cert(e)), "client": "100", "user": USER, "language": "EN"},
        lambda e: {"wshost": e.host, "wsport": str(e.port), **_tls(e), **LOGON, "lang": "EN"},
        sap_refuses="TLS_CLIENT_PSE",
    ),
    Case(
        "websocket-password",
        lambda e: {**_ws(e), "client": "100", "user": USER},
        lambda e: {"wshost": e.host, "wsport": str(e.port), **LOGON},
        erpl_refuses="only with a client certificate",
    ),
    Case(
        "websocket-alias-user",
        lambda e: {**_ws(e, aliasUser="IDOC_ALIAS", **_cert(e)), "client": "100"},
        lambda e: {"wshost": e.host, "wsport": str(e.port), **_tls(e), "client": "100", "alias_user": "IDOC_ALIAS"},
        erpl_refuses="no connection parameter alias_user, set by websocket.aliasUser",
        sap_refuses="TLS_CLIENT_PSE",
    ),
    Case(
        "websocket-pse",
        lambda e: {**_ws(e), "client": "100", "user": "IDOCUSER/", "options": PSE},
        lambda e: {
            "wshost": e.host,
            "wsport": str(e.port),
            "client": "100",
            "user": "IDOCUSER",
            "tls_client_pse": "/sec/rfc.pse",
            "tls_client_certificate_logon": "1",
        },
        erpl_refuses="no connection parameter tls_client_pse, set by option TLS_CLIENT_PSE",
    ),
    Case(
        "sap-trace",
        lambda e: _app(e, sapTrace=True),
        lambda e: {**_direct(e), "trace": "1"},
        erpl_refuses='no connection parameter trace (only with the value "0"), set by sapTrace',
    ),
    Case(
        "trace-level",
        lambda e: _app(e, options='TRACE="3"'),
        lambda e: {**_direct(e), "trace": "3"},
        erpl_refuses="set by option TRACE",
    ),
    Case("password-from-file", lambda e: _app(e, user=f"IDOCUSER/${{file:{e.folder / 'password'}}}"), _direct),
    Case(
        "x509-logon",
        lambda e: {"host": e.host, "systemNumber": e.sysnr, "client": "100", "options": 'X509CERT="${SAP_X509CERT}"'},
        lambda e: {"ashost": e.host, "sysnr": e.sysnr, "client": "100", "x509cert": X509},
        erpl_refuses="x509cert, set by option X509CERT",
    ),
    Case(
        "codepage",
        lambda e: _app(e, options='CODEPAGE="4103" PCS="2"'),
        lambda e: {**_direct(e), "codepage": "4103", "pcs": "2"},
        erpl_refuses="codepage",
    ),
]


def write_credentials(folder: Path) -> None:
    """The files the cases refer to: a PEM client certificate and key, and a password file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idocbridge test client")])
    now = dt.datetime.now(dt.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    cert = builder.serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
    signed = cert.sign(key, hashes.SHA256())
    (folder / "client.pem").write_bytes(signed.public_bytes(serialization.Encoding.PEM))
    (folder / "client.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    (folder / "password").write_text(PASSWORD + "\n", encoding="utf-8")


@pytest.fixture
def endpoint(tmp_path: Path) -> Endpoint:
    write_credentials(tmp_path)
    return Endpoint(folder=tmp_path)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_mapping_gives_exactly_these_parameters(case: Case, endpoint: Endpoint) -> None:
    params = connection_parameters(alias(**case.fields(endpoint)), ENV)
    assert params == case.expected(endpoint)
    assert set(params) <= SDK_PARAMETERS | {"tls_client_cert", "tls_client_key"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_each_library_takes_or_refuses_each_set(case: Case, endpoint: Endpoint) -> None:
    params = connection_parameters(alias(**case.fields(endpoint)), ENV)
    for profile, refusal in ((erpl_profile(), case.erpl_refuses), (SAP_PYRFC, case.sap_refuses)):
        if refusal is None:
            fitted = library_parameters(params, profile)
            assert set(fitted) <= profile.accepted
            assert {name: value for name, value in params.items() if name not in fitted} == {
                name: value for name, value in profile.implied.items() if name in params
            }
        else:
            with pytest.raises(ConnectorConfigurationError, match=re.escape(refusal)) as info:
                library_parameters(params, profile)
            assert PASSWORD not in str(info.value) and X509 not in str(info.value)


def test_erpl_takes_the_sap_router_string_without_its_trailing_host_marker() -> None:
    params = connection_parameters(
        alias(client="100", user=USER, host="app.internal", routerString="/h/r1.example.com/s/3299/W/pw/H/r2/H/"), ENV
    )
    assert params["saprouter"] == "/h/r1.example.com/s/3299/W/pw/H/r2/H/"
    assert library_parameters(params, erpl_profile())["saprouter"] == "/H/r1.example.com/S/3299/W/pw/H/r2"
    assert library_parameters(params, SAP_PYRFC)["saprouter"] == params["saprouter"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"options": 'WAN="1"'}, "option WAN has no PyRFC connection parameter"),
        ({"options": 'MYSAPSSO="${SAP_X509CERT}"'}, "use MYSAPSSO2"),
        ({"options": 'TYPE="3"'}, "option TYPE has no PyRFC connection parameter"),
        ({"user": "IDOCUSER/${SAP_MISSING}"}, r"environment variable SAP_MISSING is not set"),
        ({"user": "IDOCUSER/${file:/nonexistent/sap}"}, "cannot read secret file /nonexistent/sap"),
        ({"sapTrace": True, "options": 'TRACE="0"'}, 'sapTrace: true contradicts option TRACE="0"'),
        ({"host": "app", "options": 'WSHOST="app"'}, "option WSHOST applies to WebSocket RFC"),
    ],
)
def test_what_pyrfc_cannot_take_is_refused_by_name(fields: dict[str, Any], message: str) -> None:
    given = {"client": "100", "user": USER, **fields}
    with pytest.raises(ConnectorConfigurationError, match=message) as info:
        connection_parameters(alias(**given), ENV)
    assert PASSWORD not in str(info.value) and X509 not in str(info.value)
    assert info.value.key == "RFC_INVALID_PARAMETER"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"websocket": {"trustedCa": "ca.pem"}}, "websocket.trustedCa has no PyRFC connection parameter"),
        ({"routerString": "/H/router/S/3299/H/"}, "routerString applies to classic RFC"),
        ({"systemNumber": "01"}, "systemNumber applies to classic RFC"),
        ({"options": 'SNC_MODE="1"'}, "option SNC_MODE applies to classic RFC"),
        ({"options": 'MSHOST="ms" R3NAME="QAS"'}, "option MSHOST applies to classic RFC"),
    ],
)
def test_classic_rfc_settings_are_refused_for_websocket_rfc(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"transport": "websocket", "host": "api.example.com", "client": "100", "user": USER}
    with pytest.raises(ConnectorConfigurationError, match=message):
        connection_parameters(raw_alias(**base | fields), ENV)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": "app", "options": 'MSHOST="ms" R3NAME="QAS"'}, "host cannot be combined with load balancing"),
        ({"options": 'R3NAME="QAS"'}, "option R3NAME belongs to load balancing"),
        ({"options": 'MSHOST="ms" MSSERV="3600" SYSNR="00"'}, "option SYSNR cannot be combined with MSHOST"),
        ({"host": "app", "options": 'ASHOST="other"'}, 'option ASHOST="other" contradicts host'),
        ({"options": 'USER="OTHER"'}, "option USER repeats the 'user' tagged value"),
        ({"options": "LCHECK=1"}, "the options of SAP alias 'A' are invalid"),
        ({"websocket": {"port": 8443}}, "websocket settings need transport: websocket"),
        (
            {"routerString": "/H/r/W/routerpw/H/", "options": 'SAPROUTER="/H/r/W/other/H/"'},
            r'SAPROUTER="/H/r/W/\*\*\*/H/" contradicts routerString',
        ),
    ],
)
def test_aliases_the_model_would_refuse_are_refused_here_too(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConnectorConfigurationError, match=message) as info:
        connection_parameters(raw_alias(client="100", user=USER, **fields), ENV)
    assert "routerpw" not in str(info.value) and "other/" not in str(info.value)


def test_tagged_values_win_over_defaults_and_options_stand_in_for_unset_ones() -> None:
    params = connection_parameters(raw_alias(options='CLIENT="200" ASHOST="app" LANG="DE" USER="U"'), {})
    assert params == {"ashost": "app", "sysnr": "00", "client": "200", "user": "U", "lang": "DE"}
    assert params.origins["ashost"] == "option ASHOST" and params.origins["sysnr"] == "systemNumber"


def test_the_redacted_view_and_repr_never_show_secrets() -> None:
    params = connection_parameters(
        alias(client="100", user=USER, routerString="/H/r/W/routerpw/H/", options='X509CERT="${SAP_X509CERT}"'), ENV
    )
    assert params["passwd"] == PASSWORD and params["x509cert"] == X509
    shown = params.redacted()
    assert shown["passwd"] == "***" and shown["x509cert"] == "***" and shown["saprouter"] == "/H/r/W/***/H/"
    assert shown == redact(params)
    for text in (repr(params), str(params), f"{params}", repr([params]), repr(shown)):
        assert PASSWORD not in text and X509 not in text and "routerpw" not in text
    assert params.secret_values() == [PASSWORD, X509]


def test_erpl_takes_implied_parameters_only_with_the_value_it_behaves_as() -> None:
    assert ERPL_IMPLIED == {"trace": "0", "lcheck": "1", "abap_debug": "0", "use_sapgui": "0"}
    params = connection_parameters(alias(client="100", user=USER, options='LCHECK="0"'), ENV)
    with pytest.raises(ConnectorConfigurationError, match=r'lcheck \(only with the value "1"\), set by option LCHECK'):
        library_parameters(params, erpl_profile())
    assert library_parameters(params, SAP_PYRFC)["lcheck"] == "0"


def test_fitted_parameters_keep_their_origins() -> None:
    params = connection_parameters(alias(client="100", user=USER, language="EN"), ENV)
    fitted = library_parameters(params, erpl_profile())
    assert isinstance(fitted, PyRFCParameters) and fitted.origins["lang"] == "language"


def test_certificates_are_copied_as_der_files_readable_by_the_owner_only(endpoint: Endpoint) -> None:
    e, tmp_path = endpoint, endpoint.folder
    params = connection_parameters(alias(**_ws(e, clientByHostname=True, **_cert(e))), {})
    out = tmp_path / "der"
    out.mkdir()
    copies = der_certificate_copies(params, out)
    assert copies["wshost"] == params["wshost"] and copies.origins == params.origins
    cert = x509.load_der_x509_certificate(Path(copies["tls_client_cert"]).read_bytes())
    key = serialization.load_der_private_key(Path(copies["tls_client_key"]).read_bytes(), password=None)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)
    assert stat.S_IMODE(Path(copies["tls_client_key"]).stat().st_mode) == 0o600
    again = tmp_path / "again"
    again.mkdir()
    assert Path(der_certificate_copies(copies, again)["tls_client_cert"]).read_bytes() == cert.public_bytes(
        serialization.Encoding.DER
    )


def test_unreadable_certificates_are_refused_without_showing_their_contents(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("-----BEGIN PRIVATE KEY-----\nnot-a-key-secret\n-----END PRIVATE KEY-----\n")
    write_credentials(tmp_path)
    base = PyRFCParameters({"tls_client_cert": str(tmp_path / "client.pem")})
    with pytest.raises(ConnectorConfigurationError, match="needs its private key"):
        der_certificate_copies(base, tmp_path)
    with pytest.raises(
        ConnectorConfigurationError, match=r"websocket\.clientKey is not a readable private key"
    ) as info:
        der_certificate_copies(PyRFCParameters({**base, "tls_client_key": str(tmp_path / "bad.key")}), tmp_path)
    assert "not-a-key-secret" not in str(info.value)
    with pytest.raises(ConnectorConfigurationError, match=r"cannot read websocket\.clientKey"):
        der_certificate_copies(PyRFCParameters({**base, "tls_client_key": str(tmp_path / "missing")}), tmp_path)
