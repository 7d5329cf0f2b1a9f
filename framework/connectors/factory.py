"""Which connector an alias gets, as the alias says: saprfc, pyrfc or the simulator's JSON protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from idocbridge.connectors.base import Connector
from idocbridge.connectors.pyrfc import PyRFCConnector
from idocbridge.connectors.saprfc import SaprfcConnector
from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.models.alias import SAPAlias

__all__ = ["connector_factory"]


def connector_factory(
    environ: Mapping[str, str] | None, *, call_timeout: float = 60.0, accept_unchecked_units: bool = False
) -> Callable[[SAPAlias], Connector]:
    """A function making a connector (not yet open) for an alias; ``environ`` resolves ``${ENV}`` secrets,
    ``call_timeout`` bounds each SAP call (seconds), ``accept_unchecked_units`` see :class:`PyRFCConnector`."""

    def make(alias: SAPAlias) -> Connector:
        if alias.connector == "simulator":
            return SimulatorConnector.from_alias(alias, environ, timeout=call_timeout)
        if alias.connector == "saprfc":
            return SaprfcConnector(alias, environ=environ, timeout=call_timeout)
        return PyRFCConnector(
            alias, environ=environ, timeout=call_timeout, accept_unchecked_units=accept_unchecked_units
        )

    return make
