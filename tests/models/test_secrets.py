"""Secret references and the rule that secrets never reach messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.models import ModelError, Secret, SecretError, load_model_text, resolve_secret
from idocbridge.models.secrets import is_reference, split_user

TEST_PASSWORD = "Tr0ub4dor&3-idocbridge"


def test_environment_reference() -> None:
    secret = resolve_secret("${SAP_PASSWORD}", {"SAP_PASSWORD": TEST_PASSWORD})
    assert secret.reveal() == TEST_PASSWORD
    assert TEST_PASSWORD not in repr(secret)
    assert str(secret) == "***"


def test_file_reference(tmp_path: Path) -> None:
    path = tmp_path / "sap_password"
    path.write_text(TEST_PASSWORD + "\n", encoding="utf-8")
    assert resolve_secret(f"${{file:{path}}}").reveal() == TEST_PASSWORD


def test_unresolvable_references_name_the_reference_only(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"environment variable SAP_PASSWORD is not set"):
        resolve_secret("${SAP_PASSWORD}", {})
    with pytest.raises(SecretError, match=r"cannot read secret file .*missing"):
        resolve_secret(f"${{file:{tmp_path / 'missing'}}}")
    with pytest.raises(SecretError, match="malformed"):
        resolve_secret("${SAP PASSWORD}", {})


def test_user_split_and_reference_detection() -> None:
    assert split_user("IDOC/${file:/run/secrets/sap}") == ("IDOC", "${file:/run/secrets/sap}")
    assert split_user("IDOC") is None
    assert split_user("/secret") is None
    assert is_reference("${A_1}")
    assert not is_reference("pre${A}")
    assert Secret("a") == Secret("a")


def test_a_literal_password_never_appears_in_diagnostics() -> None:
    model = f"""
name: Leak
aliases:
  - name: SAP
    protocol: trfc
    client: "100"
    user: IDOC/{TEST_PASSWORD}
    options: X509CERT="{TEST_PASSWORD}" TRACE="{TEST_PASSWORD}"
"""
    with pytest.raises(ModelError) as raised:
        load_model_text(model, "leak.yaml", "yaml")
    text = str(raised.value)
    assert "holds a literal password" in text
    assert "holds a literal secret" in text
    assert TEST_PASSWORD not in text.replace(f"TRACE does not take '{TEST_PASSWORD}'", "")


def test_duplicate_user_keys_do_not_echo_values() -> None:
    model = f"name: Leak\naliases:\n  - name: SAP\n    user: A/{TEST_PASSWORD}\n    user: B/{TEST_PASSWORD}\n"
    with pytest.raises(ModelError) as raised:
        load_model_text(model, "leak.yaml", "yaml")
    assert TEST_PASSWORD not in str(raised.value)
    assert "duplicate key 'user'" in str(raised.value)
