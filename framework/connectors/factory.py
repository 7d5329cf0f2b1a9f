"""Which connector an alias gets: the simulator connector or the PyRFC one, as the alias says."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from idocbridge.connectors.base import Connector
from idocbridge.connectors.pyrfc import PyRFCConnector
from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.models.alias import SAPAlias

__all__ = ["connector_factory"]


def connector_factory(environ: Mapping[str, str] | None) -> Callable[[SAPAlias], Connector]:
    """A function making a connector (not yet open) for an alias; ``environ`` resolves ``${ENV}`` secrets."""

    def make(alias: SAPAlias) -> Connector:
        if alias.connector == "simulator":
            return SimulatorConnector.from_alias(alias, environ)
        return PyRFCConnector(alias, environ=environ)

    return make
