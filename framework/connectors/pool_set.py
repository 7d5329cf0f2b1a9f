"""The connection pools of a deployed model: one per connection string (SAP-FACTS §1)."""

from __future__ import annotations

from collections.abc import Callable

from idocbridge.connectors.base import Connector
from idocbridge.connectors.pool import ConnectionPool, PoolWaitEvent
from idocbridge.models.alias import SAPAlias
from idocbridge.models.model import Model
from idocbridge.models.pools import plan_pools

__all__ = ["PoolSet"]


def _bind(factory: Callable[[SAPAlias], Connector], alias: SAPAlias) -> Callable[[], Connector]:
    return lambda: factory(alias)


class PoolSet:
    """Aliases with the same connection string share one pool, sized by the highest poolSize."""

    def __init__(
        self,
        model: Model,
        factory: Callable[[SAPAlias], Connector],
        timeout: float = 30.0,
        on_wait: Callable[[PoolWaitEvent], None] | None = None,
    ) -> None:
        self._by_alias: dict[str, ConnectionPool] = {}
        self.pools: list[ConnectionPool] = []
        aliases = {alias.name: alias for alias in model.aliases}
        for plan in plan_pools(model):
            first = aliases[plan.aliases[0]]
            pool = ConnectionPool(plan.connection, _bind(factory, first), plan.size, timeout, on_wait)
            self.pools.append(pool)
            for name in plan.aliases:
                self._by_alias[name] = pool

    def __contains__(self, name: object) -> bool:
        """Whether SAP alias ``name`` has a pool here."""
        return name in self._by_alias

    @property
    def aliases(self) -> list[str]:
        """The names of the SAP aliases with a pool here, sorted."""
        return sorted(self._by_alias)

    def for_alias(self, name: str) -> ConnectionPool:
        """The pool of SAP alias ``name``."""
        try:
            return self._by_alias[name]
        except KeyError:
            raise KeyError(f"no SAP alias named '{name}'; known: {', '.join(self.aliases)}") from None

    def close(self) -> None:
        for pool in self.pools:
            pool.close()
