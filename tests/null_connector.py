"""A connector that connects to nothing, for tests of what sits around connectors (pools, handles)."""

from __future__ import annotations

from idocbridge.connectors.base import Connector, Parameters, Result

TID = "0A0B0C0D0E0F101112131415"


class NullConnector(Connector):
    """Opens and closes without a network; calls answer empty, TIDs are :data:`TID`."""

    def __init__(self) -> None:
        self._open = False

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def ping(self) -> None:
        pass

    def call(self, function: str, parameters: Parameters) -> Result:
        return {}

    def get_transaction_id(self) -> str:
        return TID

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        pass

    def confirm_transaction(self, tid: str) -> None:
        pass
