"""Connectors: the interface to SAP systems, its backends and the connection pool."""

from __future__ import annotations

from idocbridge.connectors.base import Connector, Parameters, Result
from idocbridge.connectors.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    AuthorizationError,
    CommunicationError,
    ConfirmNotSentError,
    ConnectorConfigurationError,
    ConnectorError,
    LogonError,
    TransactionBusyError,
)

__all__ = [
    "ABAPApplicationError",
    "ABAPRuntimeError",
    "AuthorizationError",
    "CommunicationError",
    "ConfirmNotSentError",
    "Connector",
    "ConnectorConfigurationError",
    "ConnectorError",
    "LogonError",
    "Parameters",
    "Result",
    "TransactionBusyError",
]
