"""Errors a connector raises, whatever backend it talks to.

    ConnectorError                 any failure talking to SAP; carries key, function and TID
     +-- CommunicationError        the connection broke or could not be made (retryable)
     +-- TransactionBusyError      the TID is being executed elsewhere right now (retryable)
     +-- ConfirmNotSentError       a confirm could not be sent on this connection (retryable)
     +-- LogonError                the logon was refused (user, password, certificate, client)
     +-- AuthorizationError        the user may not call this function (UCON allowlist, S_RFC)
     +-- ABAPApplicationError      the function raised an ABAP exception (its key says which)
     +-- ABAPRuntimeError          the ABAP runtime failed (short dump, unknown function)
     +-- ConnectorConfigurationError  the connection parameters are wrong; nothing was sent

Backends map their own exceptions onto these at the boundary with ``raise ... from exc``.
``retryable`` tells the caller whether trying again later, with the same TID, can succeed.
"""

from __future__ import annotations

from typing import ClassVar

from idocbridge.errors import IdocbridgeError

__all__ = [
    "ABAPApplicationError",
    "ABAPRuntimeError",
    "AuthorizationError",
    "CommunicationError",
    "ConfirmNotSentError",
    "ConnectorConfigurationError",
    "ConnectorError",
    "LogonError",
    "TransactionBusyError",
]


class ConnectorError(IdocbridgeError):
    """A failure talking to SAP. ``key`` is SAP's error key (e.g. RFC_COMMUNICATION_FAILURE)."""

    retryable: ClassVar[bool] = False
    default_key: ClassVar[str] = "RFC_FAILURE"

    def __init__(
        self, message: str, *, key: str | None = None, function: str | None = None, tid: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.key = key or self.default_key
        self.function = function
        self.tid = tid

    def __str__(self) -> str:
        context = [f"key {self.key}"]
        if self.function:
            context.append(f"function {self.function}")
        if self.tid:
            context.append(f"TID {self.tid}")
        return f"{self.message} ({', '.join(context)})"


class CommunicationError(ConnectorError):
    """The connection broke, timed out or could not be opened. Retry later with the same TID."""

    retryable = True
    default_key = "RFC_COMMUNICATION_FAILURE"


class TransactionBusyError(ConnectorError):
    """SAP is executing this TID on another connection right now. Retry later with the same TID."""

    retryable = True
    default_key = "RFC_TID_IN_PROCESS"


class ConfirmNotSentError(ConnectorError):
    """The confirm of a TID was not sent (e.g. the library confirms only units submitted on the same
    connection). SAP still holds the TID; retry the confirm, never record it as done."""

    retryable = True
    default_key = "RFC_CONFIRM_NOT_SENT"


class LogonError(ConnectorError):
    """The logon was refused."""

    default_key = "RFC_LOGON_FAILURE"


class AuthorizationError(ConnectorError):
    """The user is not allowed to call the function."""

    default_key = "RFC_AUTHORIZATION_FAILURE"


class ABAPApplicationError(ConnectorError):
    """The function module raised an ABAP exception; ``key`` is its name."""

    default_key = "ABAP_EXCEPTION"


class ABAPRuntimeError(ConnectorError):
    """The ABAP runtime failed: a short dump, or a function that does not exist."""

    default_key = "RFC_ABAP_RUNTIME_FAILURE"


class ConnectorConfigurationError(ConnectorError):
    """The connection parameters are wrong or incomplete; nothing was sent to SAP."""

    default_key = "RFC_INVALID_PARAMETER"
