"""The saprfc connector: SAP's RFC protocol in pure Python (saprfclib), no SAP NW RFC SDK.

Classic RFC (ashost/sysnr, message server, SAProuter) and WebSocket RFC, logon by password or, over
WebSocket RFC, by client certificate. Synchronous calls go through ``saprfclib.Connection.call``.
tRFC and qRFC follow the SDK's dialect: the TID from the system (API_CREATE_TID), the unit shipped
with its call (ARFC_DEST_SHIP with STATE and DATA, built by :mod:`.saprfc_units`), the confirm
(API_CLEAR_TID). saprfclib's errors are mapped onto :mod:`idocbridge.connectors.errors` here; a
connection that broke is closed, so that its pool replaces it.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import saprfclib
from saprfclib.exceptions import AbapApplicationError, AbapSystemFailure, IncompleteDescriptorError, SapRfcError
from saprfclib.metadata import MetadataCache

from idocbridge.connectors.base import Connector, Parameters, Result
from idocbridge.connectors.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    AuthorizationError,
    CommunicationError,
    ConnectorConfigurationError,
    ConnectorError,
    LogonError,
)
from idocbridge.connectors.saprfc_params import SaprfcArguments, saprfc_arguments
from idocbridge.connectors.saprfc_units import serialised_call, ship_tables
from idocbridge.connectors.saprfc_websocket import open_websocket
from idocbridge.models.alias import SAPAlias

__all__ = ["SaprfcConnector"]

LOG = logging.getLogger(__name__)

_LOGON_REFUSED = ("logon failed", "http status 401", "name or password is incorrect")
_AUTHORIZATION_KEYS = frozenset({"RFC_NO_AUTHORITY", "RFC_AUTHORIZATION_FAILURE"})

Phase = Literal["open", "describe", "encode", "exchange"]
"""Where an error happened: opening the connection; looking up the function's interface; encoding the
request, before anything is sent; or exchanging it with the system, after which the connection's
byte stream is in an unknown state."""


def _plain(value: Any) -> Any:
    """saprfclib's values as the project's: DATS and TIMS as text (YYYYMMDD, HHMMSS), tables as lists."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d%H%M%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    if isinstance(value, dt.time):
        return value.strftime("%H%M%S")
    if isinstance(value, Mapping):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _message(exc: BaseException, secrets: tuple[str, ...]) -> str:
    message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    for secret in filter(None, secrets):
        message = message.replace(secret, "***")
    return message


def map_error(
    exc: BaseException, *, phase: Phase, function: str | None = None, tid: str | None = None,
    secrets: tuple[str, ...] = (),
) -> ConnectorError:  # fmt: skip
    """The project error for anything saprfclib (or the network) raised in ``phase``.

    ABAP's answers keep their meaning in every phase. Otherwise: what cannot be encoded, or described,
    or read from the alias's files is a configuration error (sending it again cannot help); a refused
    logon is a logon error; everything else, above all whatever happened once a request was sent, is a
    communication error, which is safe to retry with the same TID.
    """
    if isinstance(exc, ConnectorError):
        return exc
    message = _message(exc, secrets)
    if isinstance(exc, AbapApplicationError):
        key = exc.key or None
        if key in _AUTHORIZATION_KEYS:
            return AuthorizationError(message, key=key, function=function, tid=tid)
        if (exc.msg_type or "").upper() in ("X", "A"):
            return ABAPRuntimeError(message, key=key, function=function, tid=tid)
        return ABAPApplicationError(message, key=key, function=function, tid=tid)
    if isinstance(exc, AbapSystemFailure):
        return ABAPRuntimeError(message, key="SYSTEM_FAILURE", function=function, tid=tid)
    if isinstance(exc, IncompleteDescriptorError):
        return ConnectorConfigurationError(f"the interface of {function} cannot be described: {message}",
                                           key="RFC_INVALID_PARAMETER", function=function, tid=tid)  # fmt: skip
    if phase == "encode":
        return ConnectorConfigurationError(message, key="RFC_INVALID_PARAMETER", function=function, tid=tid)
    if phase == "open":
        if any(text in message.lower() for text in _LOGON_REFUSED):
            return LogonError(message, function=function, tid=tid)
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = "check websocket.trustedCa (the CA that signs the system's certificate) and the host name"
            return ConnectorConfigurationError(f"{message}: {hint}", function=function)
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | ValueError | TypeError):
            return ConnectorConfigurationError(message, function=function)
    return CommunicationError(message, function=function, tid=tid)


class SaprfcConnector(Connector):
    """One connection to an SAP system through saprfclib, for one SAP alias.

    ``environ`` resolves ``${ENV}`` secret references (default: the process environment); ``timeout``
    bounds the connect and every read (seconds).
    """

    def __init__(self, alias: SAPAlias, *, environ: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        self.alias = alias
        self._environ = environ
        self.timeout = timeout
        self._arguments: SaprfcArguments | None = None
        self._connection: Any = None
        self._metadata = MetadataCache()
        """Function interfaces, looked up once per connector (its connections are to one system)."""

    def __repr__(self) -> str:
        return f"SaprfcConnector(alias={self.alias.name!r}, open={self.is_open})"

    def arguments(self) -> SaprfcArguments:
        """What :meth:`open` connects with (secrets resolved; ``redacted()`` for logs)."""
        if self._arguments is None:
            self._arguments = saprfc_arguments(self.alias, self._environ)
        return self._arguments

    @contextmanager
    def _boundary(self, phase: Phase, *, function: str | None = None, tid: str | None = None) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            error = map_error(exc, phase=phase, function=function, tid=tid, secrets=self.arguments().secrets)
            if isinstance(error, CommunicationError) and phase != "open":
                self.close()  # the byte stream's position is unknown: this connection cannot be used again
            if error is exc:
                raise
            secrets = [secret for secret in self.arguments().secrets if secret]
            raise error from (None if any(secret in str(exc) for secret in secrets) else exc)

    def open(self) -> None:
        self.close()
        arguments = self.arguments()
        LOG.debug("opening saprfclib with %s for SAP alias %s", arguments.redacted(), self.alias.name)
        with self._boundary("open"):
            if arguments.websocket:
                connection = open_websocket(arguments, self.timeout, self._metadata)
            else:
                keywords: dict[str, Any] = dict(arguments.keywords)
                # connect() requires ashost and sysnr even where the message server decides.
                keywords.setdefault("ashost", keywords.get("mshost") or "")
                keywords.setdefault("sysnr", 0)
                if arguments.first_router is not None:
                    keywords["socket_factory"] = self._to_first_router
                connection = saprfclib.connect(
                    **keywords,
                    strict_params=True,
                    connect_timeout=self.timeout,
                    timeout=self.timeout,
                    read_timeout=self.timeout,
                    metadata_cache=self._metadata,
                )
            try:
                connection.ping()  # WebSocket RFC logs on at the first call: make a refused logon show here
            except BaseException:
                connection.close()
                raise
        self._connection = connection

    def _to_first_router(self, host: str, port: int) -> socket.socket:
        """The TCP connection of a routed logon, to the route's first SAProuter (not to ashost)."""
        router = self.arguments().first_router
        assert router is not None
        return socket.create_connection(router, timeout=self.timeout)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.close()
        except (SapRfcError, OSError, ValueError) as exc:
            LOG.debug("closing the connection for SAP alias %s: %s", self.alias.name, exc)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    def ping(self) -> None:
        with self._boundary("exchange", function="RFC_PING"):
            answered = self._open_connection().ping()
        if answered is not True:
            self.close()
            raise CommunicationError("the SAP system did not answer RFC_PING", function="RFC_PING")

    def call(self, function: str, parameters: Parameters) -> Result:
        connection = self._open_connection()
        self._encode(connection, function, parameters)  # refused before anything is sent
        with self._boundary("exchange", function=function):
            result = connection.call(function, **dict(parameters))
        plain: Result = _plain(dict(result))
        return plain

    def get_transaction_id(self) -> str:
        with self._boundary("exchange", function="API_CREATE_TID"):
            tid = str(self._open_connection().call("API_CREATE_TID").get("TID", "")).strip()
        if len(tid) != 24:
            raise ConnectorError(f"API_CREATE_TID returned {tid!r}, not a 24-character TID", function="API_CREATE_TID")
        return tid

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        connection = self._open_connection()
        call = self._encode(connection, function, parameters, tid)
        user = str(self.arguments().keywords.get("user", ""))
        with self._boundary("encode", function=function, tid=tid):
            tables = ship_tables(tid, function, call, queue, user)
        with self._boundary("exchange", function=function, tid=tid):
            connection.call("ARFC_DEST_SHIP", **tables)

    def confirm_transaction(self, tid: str) -> None:
        with self._boundary("exchange", function="API_CLEAR_TID", tid=tid):
            self._open_connection().call("API_CLEAR_TID", TID=tid.encode("utf-16-le"))

    def _encode(self, connection: Any, function: str, parameters: Parameters, tid: str | None = None) -> bytes:
        """The call serialised as a unit carries it; raises for a parameter the interface cannot take."""
        with self._boundary("describe", function=function, tid=tid):
            description = saprfclib.get_function_desc(connection, function, cache=self._metadata)
        with self._boundary("encode", function=function, tid=tid):
            return serialised_call(function, description, parameters)

    def _open_connection(self) -> Any:
        if self._connection is None:
            raise CommunicationError(f"the connection for SAP alias '{self.alias.name}' is not open")
        return self._connection
