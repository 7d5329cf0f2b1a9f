"""Settings as a deployment uses them: ``${ENV}`` in any field, relative paths from the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.models import ModelError
from idocbridge.models.settings import load_settings


def _settings(folder: Path, text: str) -> Path:
    path = folder / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_any_value_may_come_from_the_environment(tmp_path: Path) -> None:
    path = _settings(tmp_path, "server:\n  host: ${BIND_HOST}\n  port: ${PORT}\n  maxBodyBytes: ${MAX_BODY}\n"
                     "  basicAuthUser: ${USER_NAME}\n  basicAuthPassword: ${BASIC_PASSWORD}\n"
                     "aliases:\n  - name: ERP\n    host: ${SAP_HOST}\n    poolSize: ${POOL}\n")  # fmt: skip
    environment = {"BIND_HOST": "0.0.0.0", "PORT": "8443", "MAX_BODY": "2048", "SAP_HOST": "erp.example.com",
                   "POOL": "4", "USER_NAME": "partner", "BASIC_PASSWORD": "never read here"}  # fmt: skip
    settings = load_settings(path, environment)
    server = settings.server
    assert server is not None
    assert (server.host, server.port, server.max_body_bytes, server.basic_auth_user) == ("0.0.0.0", 8443, 2048,
                                                                                        "partner")  # fmt: skip
    assert server.basic_auth_password == "${BASIC_PASSWORD}", "a secret stays a reference, read at the start"
    (alias,) = settings.aliases
    assert (alias.host, alias.pool_size) == ("erp.example.com", 4)


def test_a_variable_that_is_not_set_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _settings(tmp_path, "server:\n  port: ${PORT}\n  host: ${1X}\n")
    with pytest.raises(ModelError) as raised:
        load_settings(path, {})
    shown = [diagnostic.format() for diagnostic in raised.value.diagnostics]
    assert any(":2:9: error: port: ${PORT} is not set in the environment" in line for line in shown), shown
    assert any(":3:9: error: host: ${1X} names no environment variable" in line for line in shown), shown


def test_as_written_keeps_references_for_converting_the_file(tmp_path: Path) -> None:
    path = _settings(tmp_path, "server:\n  host: ${BIND_HOST}\n  state: state\n")
    settings = load_settings(path, {}, as_written=True)
    assert settings.server is not None and (settings.server.host, settings.server.state) == ("${BIND_HOST}", "state")


def test_relative_files_are_found_next_to_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "cert.pem").write_text("certificate", encoding="utf-8")
    (tmp_path / "tls" / "key.pem").write_text("key", encoding="utf-8")
    path = _settings(tmp_path, "server:\n  tlsCertificate: tls/cert.pem\n  tlsKey: ${KEY}\n  state: run/state\n")
    monkeypatch.chdir(tmp_path / "tls")  # not where the settings file is
    settings = load_settings(path, {"KEY": "tls/key.pem"})
    assert settings.server is not None
    assert settings.server.tls_certificate == str(tmp_path / "tls" / "cert.pem")
    assert settings.server.tls_key == str(tmp_path / "tls" / "key.pem")
    assert settings.server.state == str(tmp_path / "run" / "state")  # the service makes the folder


def test_a_file_that_is_not_there_is_an_error_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    path = _settings(tmp_path, "aliases:\n  - name: ERP\n    websocket:\n      trustedCa: ca/missing.pem\n")
    with pytest.raises(ModelError) as raised:
        load_settings(path, {})
    (diagnostic,) = raised.value.diagnostics
    assert f"trustedCa: {tmp_path / 'ca' / 'missing.pem'} is no file" in diagnostic.format()
    assert diagnostic.location is not None and diagnostic.location.line == 4
