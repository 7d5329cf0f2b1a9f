"""The server settings: HTTP basic auth and TLS, with the real service process and zeep."""

from __future__ import annotations

import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import requests
import zeep
from zeep.transports import Transport

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.sapsim.tls import ensure_pki
from idocbridge.soap.deployment import MAX_DELIVERY_THREADS, DeploymentError, load_deployment_folder
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES
from tests.transactions.conftest import new_entry

ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
PASSWORD = "basic-auth-secret-4711"


def test_basic_auth_and_tls(tmp_path: Path) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    pki = ensure_pki(tmp_path / "service-tls")  # a CA and a certificate for localhost/127.0.0.1
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        settings.write_text(
            simulator_settings(ALIASES, sim.info, tmp_path / "state").replace(
                "server:\n",
                f"server:\n  tlsCertificate: '{pki.server_certificate}'\n  tlsKey: '{pki.server_key}'\n"
                "  basicAuthUser: erp-sender\n  basicAuthPassword: ${IDOCBRIDGE_TEST_BASIC_PASSWORD}\n",
            ),
            encoding="utf-8",
        )
        environment = {"SAP_PASSWORD": "idocbridge", "IDOCBRIDGE_TEST_BASIC_PASSWORD": PASSWORD}
        with ServiceProcess(
            tmp_path / "out", settings, tmp_path / "state", environment, ca_certificate=pki.ca_certificate
        ) as service:
            assert service.url.startswith("https://")
            endpoint = f"{service.url}/saptRFCClientService"
            trust = ssl.create_default_context(cafile=str(pki.ca_certificate))
            anonymous = httpx.get(f"{endpoint}?wsdl", verify=trust)
            assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
            wrong = httpx.get(f"{endpoint}?wsdl", verify=trust, auth=("erp-sender", "nope"))
            assert wrong.status_code == 401
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{endpoint}?wsdl")  # the server is verified: without the CA it is refused
            session = requests.Session()
            session.auth = ("erp-sender", PASSWORD)
            session.verify = str(pki.ca_certificate)
            session.trust_env = False  # an environment CA bundle would override verify
            client = zeep.Client(f"{endpoint}?wsdl", transport=Transport(session=session))
            assert client.service.TestSimpleTypes(requestText="over TLS").echoText == "over TLS"
            _send_trusts_its_ca_certificate_whatever_the_environment_says(endpoint, pki.ca_certificate, tmp_path)
        log = (tmp_path / "state" / "serve.log").read_text()
        assert PASSWORD not in log


def test_a_missing_password_stops_the_start_and_names_the_variable(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", out)
    with pytest.raises(DeploymentError) as caught:
        load_deployment_folder(out, None, environ={})
    message = str(caught.value)
    assert "RFCPort_IDOC_INBOUND_ASYNCHRONOUS" in message and "SAP_PASSWORD is not set" in message
    assert not (out / "state").exists(), "nothing is created before the settings hold"
    deployment = load_deployment_folder(out, None, environ={"SAP_PASSWORD": "set-but-unused"})
    try:
        assert [service.contract.name for service in deployment.services] == ["saptRFCClientService"]
    finally:
        deployment.close()


def _unusable_databases(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "a-file").write_text("not a folder")
    cases = [(f"sqlite:///{tmp_path / 'a-file' / 'runtime.db'}", "cannot be made: ")]
    url = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        cases.append((url.rsplit("/", 1)[0] + "/idocbridge_no_such_database", "does not exist"))
    return cases


def test_serve_with_a_database_it_cannot_use_says_so_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", out)
    for url, reason in _unusable_databases(tmp_path):
        settings = tmp_path / "settings.yaml"
        settings.write_text(f"environment: test\nserver:\n  port: 0\n  database: '{url}'\naliases: []\n")
        command = [str(Path(sys.executable).parent / "idocbridge"), "serve", str(out), "--settings", str(settings)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                                env=os.environ | {"SAP_PASSWORD": "unused"})  # fmt: skip
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def _send_trusts_its_ca_certificate_whatever_the_environment_says(endpoint: str, ca: Path, folder: Path) -> None:
    """``idocbridge send --ca-cert`` mounts an adapter that verifies against that CA alone: with another CA
    bundle in REQUESTS_CA_BUNDLE, a session's plain ``verify`` loses to the environment, the adapter does not."""
    from idocbridge.cli.send import _trusting_only

    other = ensure_pki(folder / "other-tls").ca_certificate  # a CA that did not sign the service's certificate
    saved = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(other)
    try:
        plain = requests.Session()
        plain.auth, plain.verify = ("erp-sender", PASSWORD), str(ca)
        with pytest.raises(requests.exceptions.SSLError):
            plain.get(f"{endpoint}?wsdl", timeout=30)
        mounted = requests.Session()
        mounted.auth = ("erp-sender", PASSWORD)
        mounted.mount("https://", _trusting_only(str(ca)))
        assert mounted.get(f"{endpoint}?wsdl", timeout=30).status_code == 200
    finally:
        if saved is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = saved


def test_a_deployment_claims_only_its_models_aliases_and_names_the_entries_it_leaves_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", out)
    deployment = load_deployment_folder(out, None, environ={"SAP_PASSWORD": "set-but-unused"})
    try:
        store = deployment.outbox.store
        assert store.aliases == frozenset(ALIASES)
        for number in range(2):  # accepted by an instance whose model had another alias
            store.accept(new_entry(alias="RFCPort_REMOVED", message_id=f"left-{number}"))
        with caplog.at_level(logging.WARNING, logger="idocbridge.soap.deployment"):
            deployment.start()
        assert "the outbox holds 2 undelivered entries for SAP alias RFCPort_REMOVED, which this deployment's model " \
               "does not have" in caplog.text  # fmt: skip
        assert "if no instance serves it (check them all), restore the alias in the model, or cancel those without a " \
               "TID" in caplog.text  # fmt: skip
    finally:
        deployment.close()


def test_a_deployment_runs_four_delivery_threads_per_connection_up_to_a_limit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", out)
    for pool_size, threads in ((3, 12), (100, MAX_DELIVERY_THREADS)):
        settings = tmp_path / f"settings-{pool_size}.yaml"
        aliases = "".join(f"  - name: {name}\n    poolSize: {pool_size}\n" for name in ALIASES)
        settings.write_text(f"environment: test\nserver:\n  state: '{tmp_path / 'state'}'\naliases:\n{aliases}")
        deployment = load_deployment_folder(out, settings, environ={"SAP_PASSWORD": "set-but-unused"})
        try:
            assert deployment.outbox.worker.capacity == threads
        finally:
            deployment.close()
