"""Whether every alias of a deployed model can connect as configured, without connecting.

``idocbridge serve`` refuses to start, and ``idocbridge validate -s`` reports, what would stop the first SAP
call: a ``${ENV}`` or ``${file:...}`` secret that cannot be read, options the alias's connector does not take,
a PyRFC library whose unit calls were not checked for a tRFC alias. Each connector's module is imported only
for the aliases that use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from idocbridge.connectors.errors import ConnectorConfigurationError
from idocbridge.models.model import Model
from idocbridge.models.secrets import SecretError

__all__ = ["connection_problems"]


def connection_problems(
    model: Model, environ: Mapping[str, str] | None = None, *, accept_unchecked_rfc_library: bool = False
) -> list[tuple[str, str]]:
    """(alias name, what is wrong) for each alias that could not connect as configured; empty when all can.

    It reads the secrets (never shows them) and checks the options; it opens no connection."""
    problems: list[tuple[str, str]] = []
    for alias in model.aliases:
        try:
            if alias.connector == "simulator":
                from idocbridge.connectors.simulator import SimulatorConnector  # noqa: PLC0415 - its alias only

                SimulatorConnector.from_alias(alias, environ)
            elif alias.connector == "saprfc":
                from idocbridge.connectors.saprfc_params import saprfc_arguments  # noqa: PLC0415 - as above

                saprfc_arguments(alias, environ)
            else:
                from idocbridge.connectors.pyrfc import PyRFCConnector  # noqa: PLC0415 - as above
                from idocbridge.connectors.pyrfc_params import connection_parameters  # noqa: PLC0415

                connection_parameters(alias, environ)
                if alias.protocol == "trfc":
                    PyRFCConnector(alias, environ=environ, accept_unchecked_units=accept_unchecked_rfc_library
                                   ).check_units()  # fmt: skip
        except (ConnectorConfigurationError, SecretError) as exc:
            problems.append((alias.name, str(exc)))
    return problems
