"""The request being served, as seen by code deep in the call stack (the pool's wait hook, adapters).

The SOAP app sets :data:`current_transaction` for each request::

    with request_scope(RequestContext(new_transaction_id(), next_request_id(), "IDocService", "Send")):
        ...  # everything called from here logs under this transaction ID

A ``ContextVar`` follows the request through ``await`` and into ``asyncio.to_thread`` (which copies the
context into the worker thread). A bare ``loop.run_in_executor`` or ``ThreadPoolExecutor.submit``
does not copy it: wrap the function with ``contextvars.copy_context().run``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["RequestContext", "current_transaction", "next_request_id", "request_scope"]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What entries logged on behalf of one request share."""

    transaction_id: str
    request_id: int
    service: str | None = None
    operation: str | None = None
    message_id: str | None = None
    """The client's message ID (SOAP header MessageId), which makes the request idempotent."""


current_transaction: ContextVar[RequestContext | None] = ContextVar("idocbridge_current_transaction", default=None)
"""The request being served in this context; None outside requests (jobs, start-up)."""

_requests = itertools.count(1)
_requests_lock = threading.Lock()


def next_request_id() -> int:
    """The next request ID of this process: 1, 2, 3, ..."""
    with _requests_lock:
        return next(_requests)


@contextmanager
def request_scope(context: RequestContext) -> Iterator[RequestContext]:
    """Make ``context`` the :data:`current_transaction` for the duration of the block."""
    token = current_transaction.set(context)
    try:
        yield context
    finally:
        current_transaction.reset(token)
