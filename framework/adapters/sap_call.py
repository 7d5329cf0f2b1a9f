"""A step's call to SAP: a pooled connection, IO_ENTER/IO_EXIT in the log, the request's retries.

The logging and retrying live in :mod:`idocbridge.tlog.sap_calls`, shared with the outbox.
"""

from __future__ import annotations

from collections.abc import Callable

from idocbridge.adapters.context import ChainContext
from idocbridge.connectors.base import Connector
from idocbridge.tlog.sap_calls import logged_call

__all__ = ["call_sap"]


def call_sap[T](
    context: ChainContext,
    alias: str,
    what: str,
    detail: str,
    action: Callable[[Connector], T],
    correlation: str | None = None,
) -> T:
    """A step's SAP call: ``what`` names the step, ``detail`` the function, the TID is the correlation ID."""
    component = f"{alias}.{detail}" if detail else alias
    pool = context.pools.for_alias(alias)
    return logged_call(
        pool, context.tlog, context.transaction, component, what, detail, action, correlation, context.retry
    )
