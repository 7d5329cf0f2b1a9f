"""Alias -> saprfclib.connect keywords: one table, secrets resolved and never shown, nothing dropped."""

from __future__ import annotations

import json
import ssl
import struct
from pathlib import Path
from typing import Any

import pytest
from saprfclib.exceptions import IncompleteDescriptorError

from idocbridge.connectors.errors import CommunicationError, ConnectorConfigurationError, LogonError
from idocbridge.connectors.saprfc import Phase, map_error
from idocbridge.connectors.saprfc_params import saprfc_arguments, saprfclib_route
from idocbridge.models import ModelError, SAPAlias, load_model_text
from idocbridge.models.connection_options import SAPRFC_PARAMETERS

ENV = {"SAP_PASSWORD": "s3cret-Pa55"}


def _alias(**fields: Any) -> SAPAlias:
    alias = {
        "name": "A",
        "protocol": "trfc",
        "client": "100",
        "user": "IDOCUSER/${SAP_PASSWORD}",
        "connector": "saprfc",
    }
    model = {"name": "T", "version": "1.0", "aliases": [alias | fields]}
    loaded: SAPAlias = load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]
    return loaded


def test_classic_rfc_with_router_and_language() -> None:
    alias = _alias(host="sap01", systemNumber="42", language="DE", routerString="/H/router/S/3299/H/")
    arguments = saprfc_arguments(alias, ENV)
    assert arguments.keywords == {
        "ashost": "sap01",
        "sysnr": "42",
        "client": "100",
        "user": "IDOCUSER",
        "passwd": "s3cret-Pa55",
        "lang": "DE",
        "saprouter": "/H/router/S/3299",  # as saprfclib reads it (below)
    }
    assert arguments.first_router == ("router", 3299)
    assert not arguments.websocket
    assert arguments.redacted()["passwd"] == "***"
    assert arguments.secrets == ("s3cret-Pa55",)


def test_load_balancing_options() -> None:
    alias = _alias(options='MSHOST="ms01" MSSERV="3600" R3NAME="PRD" GROUP="PUBLIC"')
    keywords = saprfc_arguments(alias, ENV).keywords
    assert {name: keywords[name] for name in ("mshost", "msserv", "sysid", "group")} == {
        "mshost": "ms01",
        "msserv": "3600",
        "sysid": "PRD",
        "group": "PUBLIC",
    }
    assert "ashost" not in keywords


def test_websocket_rfc_with_its_ca_and_client_certificate(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in files.values():
        path.write_text("-----BEGIN-----\n")
    websocket = {"port": 44300, "trustedCa": str(files["ca"]), "clientCertificate": str(files["cert"])}
    websocket["clientKey"] = str(files["key"])
    arguments = saprfc_arguments(_alias(host="sap.example.com", transport="websocket", websocket=websocket), ENV)
    assert arguments.websocket
    assert (arguments.keywords["wshost"], arguments.keywords["wsport"]) == ("sap.example.com", 44300)
    assert (arguments.trusted_ca, arguments.client_certificate, arguments.client_key) == (
        files["ca"],
        files["cert"],
        files["key"],
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('CODEPAGE="4103"', "saprfclib has no connection parameter codepage, set by option CODEPAGE"),
        ('TRACE="2"', 'saprfclib has no connection parameter trace (only with the value "0"), set by option TRACE'),
        ('LCHECK="0"', 'no connection parameter lcheck (only with the value "1")'),
    ],
)
def test_what_saprfclib_cannot_take_is_refused_by_name(options: str, message: str) -> None:
    name = options.split("=", maxsplit=1)[0]
    with pytest.raises(ModelError, match=f"option {name} of SAP alias 'A': the saprfc connector has no such"):
        _alias(host="sap01", options=options)  # when the model is validated
    unchecked = _alias(host="sap01").model_copy(update={"options": options})  # and, should a model skip that,
    with pytest.raises(ConnectorConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        saprfc_arguments(unchecked, ENV)  # when the connector maps it


def test_what_saprfclib_behaves_as_anyway_is_accepted() -> None:
    arguments = saprfc_arguments(_alias(host="sap01", options='LCHECK="1" TRACE="0"'), ENV)
    assert "trace" not in arguments.keywords and "lcheck" not in arguments.keywords


def test_the_table_names_only_keywords_saprfclib_connect_takes() -> None:
    import inspect

    import saprfclib

    accepted = set(inspect.signature(saprfclib.connect).parameters)
    assert set(SAPRFC_PARAMETERS.values()) <= accepted


@pytest.mark.parametrize(
    ("route", "rewritten", "first"),
    [
        ("/H/router.example.com/S/3299/H/", "/H/router.example.com/S/3299", ("router.example.com", 3299)),
        ("/H/r1/W/${SAP_ROUTE}/H/r2/S/3298/H/", "/H/r1/P/${SAP_ROUTE}/H/r2/S/3298", ("r1", 3299)),
        ("/h/r1/s/3300/h/", "/H/r1/S/3300", ("r1", 3300)),
    ],
)
def test_a_route_is_rewritten_as_saprfclib_reads_it(route: str, rewritten: str, first: tuple[str, int]) -> None:
    assert saprfclib_route(route) == (rewritten, first)


def test_a_routed_alias_connects_to_its_first_router() -> None:
    arguments = saprfc_arguments(_alias(host="10.0.0.7", systemNumber="00", routerString="/H/gw/S/3299/H/"), ENV)
    assert (arguments.keywords["saprouter"], arguments.first_router) == ("/H/gw/S/3299", ("gw", 3299))
    assert arguments.keywords["ashost"] == "10.0.0.7"


def test_the_arguments_never_show_a_password() -> None:
    arguments = saprfc_arguments(_alias(host="sap01", routerString="/H/gw/S/3299/W/r0ute-Pa55/H/"), ENV)
    assert "s3cret-Pa55" not in repr(arguments) and "r0ute-Pa55" not in repr(arguments)
    assert set(arguments.secrets) == {"s3cret-Pa55", "r0ute-Pa55"}


def test_missing_tls_files_are_configuration_errors(tmp_path: Path) -> None:
    websocket = {"port": 443, "trustedCa": str(tmp_path / "nothing.pem")}
    with pytest.raises(ConnectorConfigurationError, match=r"websocket\.trustedCa .* is not a readable file"):
        saprfc_arguments(_alias(host="sap.example.com", transport="websocket", websocket=websocket), ENV)


@pytest.mark.parametrize(
    ("error", "phase", "expected"),
    [
        (struct.error("unpack requires a buffer of 4 bytes"), "exchange", CommunicationError),
        (IndexError("index out of range"), "exchange", CommunicationError),
        (
            ValueError("Z_ORDER: parameter(s) NOPE are not in the function interface; known RESPONSE"),
            "encode",
            ConnectorConfigurationError,
        ),
        (ValueError("malformed TLV in the reply"), "exchange", CommunicationError),
        (IncompleteDescriptorError("no DFIES rows"), "describe", ConnectorConfigurationError),
        (FileNotFoundError(2, "No such file", "ca.pem"), "open", ConnectorConfigurationError),
        (ssl.SSLCertVerificationError("certificate verify failed"), "open", ConnectorConfigurationError),
        (ConnectionResetError("reset"), "open", CommunicationError),
        (ValueError("logon failed: Name or password is incorrect"), "open", LogonError),
    ],
)
def test_errors_map_by_where_they_happened(error: Exception, phase: Phase, expected: type[Exception]) -> None:
    mapped = map_error(error, phase=phase, function="Z_ORDER")
    assert type(mapped) is expected
