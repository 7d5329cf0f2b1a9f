"""The files to run idocbridge in production: the Dockerfile, the compose setup, the systemd unit.

Where a Docker daemon answers, the compose setup is built and started and the service answers through it;
elsewhere that test skips, saying so. The rest runs everywhere: the unit passes systemd-analyze (where
systemd is), the image runs as a user without privileges with a health check, and the compose setup's
settings are valid settings of the example they serve.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zeep
from ruamel.yaml import YAML

from idocbridge.models.settings import load_deployment
from tests.conftest import EXAMPLES, ROOT
from tests.waiting import wait_until

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"


def _docker_reason() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(["docker", "info"], check=False, capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return f"no Docker daemon answers here (docker info: {(info.stderr.strip().splitlines() or ['?'])[-1]})"
    return None


def test_the_systemd_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    unit = (DEPLOY / "systemd" / "idocbridge.service").read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/idocbridge serve " in unit and "NoNewPrivileges=yes" in unit
    copy = tmp_path / "idocbridge.service"  # the program is not installed here: /bin/true stands in for it
    copy.write_text(unit.replace("/usr/local/bin/idocbridge", "/bin/true"), encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", str(copy)], check=False, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
    assert verified.returncode == 0 and verified.stdout + verified.stderr == "", verified.stdout + verified.stderr


def test_the_image_runs_as_a_user_without_privileges_with_a_health_check() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.split(None, 1) for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))]
    users = [rest.strip() for word, rest in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the last USER is the one the service runs as"
    assert "HEALTHCHECK" in [word for word, _ in instructions] and "/health/live" in dockerfile
    for word, rest in instructions:
        if word == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the project"
    assert '"--log-format", "json"' in dockerfile


def test_the_compose_setup_serves_valid_settings_of_the_example() -> None:
    compose = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    assert set(compose["services"]) == {"postgres", "simulator", "service"}
    service = compose["services"]["service"]
    assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
    model = (COMPOSE.parent / mounted["/srv/idocbridge/model.yaml"]).resolve()
    assert model == EXAMPLES / "trfc_client" / "model.yaml"
    settings = COMPOSE.parent / mounted["/srv/idocbridge/settings.yaml"]
    deployed = load_deployment(model, settings, {"DATABASE_URL": service["environment"]["DATABASE_URL"]})
    assert {alias.host for alias in deployed.model.aliases} == {"simulator"}


@pytest.fixture
def composed() -> Iterator[str]:
    reason = _docker_reason()
    if reason is not None:
        pytest.skip(reason)
    command = ["docker", "compose", "-f", str(COMPOSE)]
    subprocess.run([*command, "up", "-d", "--build"], check=True, timeout=1800)
    try:
        yield "http://127.0.0.1:8080"
    finally:
        subprocess.run([*command, "down", "-v"], check=False, timeout=300)


def test_the_compose_setup_starts_and_serves_through_the_simulator(composed: str) -> None:
    def ready() -> bool:
        try:
            return httpx.get(f"{composed}/health/ready", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=600, interval=2.0, what="the composed service ready")
    client = zeep.Client(f"{composed}/saptRFCClientService?wsdl")
    assert client.service.TestSimpleTypes(requestText="in a container").echoText == "in a container"
    assert "idocbridge_requests_total" in httpx.get(f"{composed}/metrics", timeout=10).text
