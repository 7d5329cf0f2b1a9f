"""Deployment settings override tagged values; aliases sharing a connection string share a pool."""

from __future__ import annotations

from pathlib import Path

from idocbridge.models import load_deployment, load_model, load_model_text, load_settings, plan_pools
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "trfc_client"


def test_settings_override_only_what_they_name() -> None:
    base = load_model(EXAMPLE / "model.yaml").model
    deployed = load_deployment(EXAMPLE / "model.yaml", EXAMPLE / "settings.production.yaml").model
    before, after = base.aliases[0], deployed.aliases[0]
    assert (after.host, after.client, after.user_name(), after.pool_size) == (
        "sapprd.example.com",
        "300",
        "IDOC_PRD",
        20,
    )
    assert (after.options, after.language, after.protocol) == (before.options, before.language, before.protocol)
    assert deployed.composite.sap_pool_size == 20
    assert deployed.composite.transaction_log == base.composite.transaction_log
    assert deployed.services == base.services


def test_overridden_values_point_into_the_settings_file() -> None:
    deployed = load_deployment(EXAMPLE / "model.yaml", EXAMPLE / "settings.production.yaml").model
    alias = deployed.aliases[0]
    host, options = alias.location("host"), alias.location("options")
    assert host is not None and host.file.endswith("settings.production.yaml")
    assert options is not None and options.file.endswith("model.yaml")


def test_settings_round_trip_through_xml(tmp_path: Path) -> None:
    from idocbridge.models import write_xml

    settings = load_settings(EXAMPLE / "settings.production.yaml")
    xml_path = tmp_path / "settings.xml"
    xml_path.write_text(write_xml(settings), encoding="utf-8")
    assert load_settings(xml_path) == settings


def _model(aliases: str, pool_size: int = 10) -> str:
    return f"name: Pools\ncomposite:\n  sapPoolSize: {pool_size}\naliases:\n{aliases}"


def _alias(name: str, extra: str = "", client: str = "100") -> str:
    return (
        f"  - name: {name}\n    protocol: trfc\n    connector: pyrfc\n"
        f'    client: "{client}"\n    user: IDOC/${{SAP_PASSWORD}}\n'
        + "".join(f"    {line}\n" for line in extra.splitlines())
    )


def test_the_highest_pool_size_among_aliases_sharing_a_connection_wins() -> None:
    text = _model(_alias("A", "poolSize: 3") + _alias("B", "poolSize: 7") + _alias("C"))
    (pool,) = plan_pools(load_model_text(text, "pools.yaml", "yaml").model)
    assert (pool.size, pool.aliases) == (7, ("A", "B", "C"))


def test_without_pool_sizes_the_composite_decides() -> None:
    text = _model(_alias("A") + _alias("B"), pool_size=4)
    (pool,) = plan_pools(load_model_text(text, "pools.yaml", "yaml").model)
    assert pool.size == 4


def test_different_connection_strings_get_their_own_pools() -> None:
    text = _model(_alias("A", "poolSize: 3") + _alias("B", client="200") + _alias("C", 'options: LCHECK="0"'))
    pools = plan_pools(load_model_text(text, "pools.yaml", "yaml").model)
    assert [(p.size, p.aliases) for p in pools] == [(3, ("A",)), (10, ("B",)), (10, ("C",))]


def test_passwords_do_not_split_or_show_in_pools() -> None:
    text = _model(_alias("A") + _alias("B").replace("${SAP_PASSWORD}", "${OTHER_PASSWORD}"))
    (pool,) = plan_pools(load_model_text(text, "pools.yaml", "yaml").model)
    assert "PASSWORD" not in pool.connection
    assert pool.aliases == ("A", "B")


def test_the_example_shares_one_pool_of_five() -> None:
    (pool,) = plan_pools(load_model(EXAMPLE / "model.yaml").model)
    assert pool.size == 5
    assert pool.aliases == ("RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION")


def test_switching_to_websocket_rfc_drops_the_models_classic_values(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "aliases:\n  - name: RFCPort_IDOC_INBOUND_ASYNCHRONOUS\n    transport: websocket\n    connector: saprfc\n"
        "    host: sap.example.com\n    websocket: {port: 44300}\n",
        encoding="utf-8",
    )
    deployed = load_deployment(EXAMPLE / "model.yaml", settings).model
    switched, untouched = deployed.aliases
    assert "system_number" in load_model(EXAMPLE / "model.yaml").model.aliases[0].model_fields_set
    assert (switched.transport, switched.connector, switched.host) == ("websocket", "saprfc", "sap.example.com")
    assert "system_number" not in switched.model_fields_set  # the model's "00" belonged to classic RFC
    assert (untouched.transport, "system_number" in untouched.model_fields_set) == ("cpic", True)


def test_a_classic_value_the_settings_give_with_websocket_rfc_is_still_refused(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        "aliases:\n  - name: RFCPort_IDOC_INBOUND_ASYNCHRONOUS\n    transport: websocket\n    systemNumber: '01'\n",
        encoding="utf-8",
    )
    deployed = load_deployment(EXAMPLE / "model.yaml", settings).model
    assert deployed.aliases[0].system_number == "01"
    assert "system_number" in deployed.aliases[0].model_fields_set
