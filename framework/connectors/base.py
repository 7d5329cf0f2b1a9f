"""The Connector interface: the runtime's only way to talk to an SAP system.

A connector is one connection (one logon, one session), used by one thread at a time, like a
PyRFC ``Connection``. Calls block; the runtime runs them in worker threads. Values are plain Python:
``str`` for character types, ``int``, ``decimal.Decimal``, ``bytes``, and lists of dicts for tables.

tRFC follows SAP-FACTS §3: :meth:`get_transaction_id` once, persist the TID, then
:meth:`submit_transaction` (repeat it with the *same* TID after any retryable error), then
:meth:`confirm_transaction` (may be repeated; never submit again after it). The runtime never calls
these three on its own: :class:`idocbridge.connectors.unit.TrfcUnit` owns the sequence.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

__all__ = ["Connector", "Parameters", "Result"]

Parameters = Mapping[str, Any]
Result = dict[str, Any]


class Connector(ABC):
    """One connection to one SAP system. Errors are :mod:`idocbridge.connectors.errors` classes."""

    @abstractmethod
    def open(self) -> None:
        """Connect and log on. Raises LogonError, CommunicationError or ConnectorConfigurationError."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection. Idempotent; never raises for a connection that is already gone."""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the connection is open (as far as this side knows)."""

    @abstractmethod
    def ping(self) -> None:
        """Round-trip RFC_PING; raises if the system cannot be reached."""

    @abstractmethod
    def call(self, function: str, parameters: Parameters) -> Result:
        """Call ``function`` synchronously (RFC) and return its export, changing and table parameters."""

    @abstractmethod
    def get_transaction_id(self) -> str:
        """A new 24-character TID from the SAP system (RfcGetTransactionID / initialize_unit)."""

    @abstractmethod
    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        """Execute one call under ``tid`` (tRFC; qRFC with ``queue``). SAP runs a TID at most once."""

    @abstractmethod
    def confirm_transaction(self, tid: str) -> None:
        """Tell SAP the TID is done so it can forget it (RfcConfirmTransaction / confirm_unit).

        Raises (never returns quietly) when the confirm could not be sent."""

    def can_confirm(self, tid: str) -> bool:
        """Whether this connection can confirm ``tid`` as it is. False where the library confirms only
        units submitted on the same connection and this one did not submit ``tid``: submit it again
        first (SAP skips a TID it ran). See :class:`idocbridge.connectors.unit.TrfcUnit`."""
        return True

    @property
    def keeps_units_on_one_connection(self) -> bool:
        """Whether a tRFC unit must run all its calls (TID, submit, confirm) on this one connection: the
        library keeps the unit's handle on it or confirms only what it submitted (see :meth:`can_confirm`)."""
        return False

    def __enter__(self) -> Self:
        if not self.is_open:
            self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
