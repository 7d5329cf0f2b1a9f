"""The pyrfc connector: real SAP systems through a library with PyRFC's API.

Works with erpl-pyrfc (the ``sap`` extra) or SAP's PyRFC; ``pyrfc`` is imported only when a connector
is first used. Library errors are mapped onto :mod:`idocbridge.connectors.errors` at this boundary.

tRFC: the connector keeps SAP's contract (submit executes, confirm forgets). How each library's unit
calls are mapped onto it is described by :class:`UnitSemantics` and in docs/connectors.md.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
)
from idocbridge.connectors.pyrfc_libraries import (
    ERPL_INSPECTED_VERSIONS,
    PyRFCLibrary,
    UnitSemantics,
    der_certificate_copies,
    detect_library,
    library_parameters,
)
from idocbridge.connectors.pyrfc_params import PyRFCParameters, connection_parameters
from idocbridge.models.alias import SAPAlias

__all__ = ["PyRFCConnector", "map_error"]

LOG = logging.getLogger(__name__)

_MAPPED: tuple[tuple[str, type[ConnectorError]], ...] = (
    ("CommunicationError", CommunicationError),
    ("LogonError", LogonError),
    ("ExternalAuthorizationError", AuthorizationError),
    ("ABAPApplicationError", ABAPApplicationError),
    ("ABAPRuntimeError", ABAPRuntimeError),
)


def map_error(
    exc: BaseException,
    *,
    function: str | None = None,
    tid: str | None = None,
    opening: bool = False,
    secrets: tuple[str, ...] = (),
) -> ConnectorError | None:
    """The project error for a pyrfc error (matched by class name, for any PyRFC library); None if not one."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    if "RFCError" not in names:
        return None
    key = getattr(exc, "key", None)
    key = key if isinstance(key, str) and key else None
    message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    abap = [str(getattr(exc, attribute, None) or "") for attribute in ("msg_type", "msg_number", "msg_class")]
    if abap[2]:
        message += f" [ABAP message {abap[0]}{abap[1]}({abap[2]})]"
    for secret in filter(None, secrets):
        message = message.replace(secret, "***")
    error_class = next((mapped for name, mapped in _MAPPED if name in names), ConnectorError)
    if key in ("RFC_AUTHORIZATION_FAILURE", "RFC_NO_AUTHORITY"):  # logon data, or the allowlist (UCON)
        error_class = AuthorizationError
    elif key == "RFC_INVALID_PARAMETER" or _bad_parameter(message):
        error_class = ConnectorConfigurationError  # a wrong parameter is not an outage: retrying cannot help
    elif error_class is ConnectorError and opening and "ExternalRuntimeError" in names:
        error_class = ConnectorConfigurationError
    return error_class(message, key=key, function=function, tid=tid)


_BAD_PARAMETER_TEXTS = ("invalid port value",)
"""Texts of errors erpl-pyrfc raises as CommunicationError for a parameter it cannot use (2026.9.3: an
MSSERV or SAProuter service name it cannot resolve), which are configuration errors."""


def _bad_parameter(message: str) -> bool:
    lowered = message.lower()
    return any(text in lowered for text in _BAD_PARAMETER_TEXTS)


@contextmanager
def _boundary(
    *, function: str | None = None, tid: str | None = None, opening: bool = False, secrets: tuple[str, ...] = ()
) -> Iterator[None]:
    """Raise library errors as project errors, with function and TID attached."""
    try:
        yield
    except Exception as exc:
        error = map_error(exc, function=function, tid=tid, opening=opening, secrets=secrets)
        if error is None:
            raise
        raise error from exc


def _unit(tid: str) -> dict[str, Any]:
    """The unit descriptor both libraries take for a classic tRFC/qRFC TID."""
    return {"background": False, "id": tid, "queued": False}


class PyRFCConnector(Connector):
    """One connection to a real SAP system through a PyRFC library, for one SAP alias.

    ``environ`` resolves ``${ENV}`` secret references (default: the process environment);
    ``connection_class`` replaces ``pyrfc.Connection``; ``config`` is passed as PyRFC's ``config``;
    ``timeout`` (seconds) bounds every call (PyRFC's ``config["timeout"]``); ``unit_semantics``
    overrides what :func:`detect_library` found. A tRFC alias refuses a library whose unit calls were
    not checked (:attr:`PyRFCLibrary.units_checked`) unless ``accept_unchecked_units`` says so.
    """

    def __init__(
        self,
        alias: SAPAlias,
        *,
        environ: Mapping[str, str] | None = None,
        connection_class: Callable[..., Any] | None = None,
        config: Mapping[str, Any] | None = None,
        unit_semantics: UnitSemantics | None = None,
        timeout: float | None = None,
        accept_unchecked_units: bool = False,
    ) -> None:
        self.alias = alias
        self._environ = environ
        self._connection_class = connection_class
        self._config = dict(config) if config else None
        if timeout is not None:
            self._config = {**(self._config or {}), "timeout": timeout}
        self._accept_unchecked_units = accept_unchecked_units
        self._unit_semantics = unit_semantics
        self._library: PyRFCLibrary | None = None
        self._connection: Any = None
        self._folder: Path | None = None
        self._submitted: str | None = None
        self._confirmed: deque[str] = deque(maxlen=64)

    def __repr__(self) -> str:
        return f"PyRFCConnector(alias={self.alias.name!r}, open={self.is_open})"

    @property
    def library(self) -> PyRFCLibrary:
        """The library in use (detected on first use)."""
        if self._library is None:
            self._library = detect_library(self._connection_class)
        return self._library

    @property
    def unit_semantics(self) -> UnitSemantics:
        return self._unit_semantics or self.library.semantics

    def connection_parameters(self) -> PyRFCParameters:
        """The keyword arguments :meth:`open` passes to the library (secrets resolved; repr redacted).

        For erpl-pyrfc the client certificate is copied as DER into a private folder; :meth:`close` deletes it.
        """
        profile = self.library.profile
        params = library_parameters(connection_parameters(self.alias, self._environ), profile)
        if profile.der_certificates and "tls_client_cert" in params:
            self._remove_folder()
            self._folder = Path(tempfile.mkdtemp(prefix="idocbridge-pyrfc-"))
            try:
                params = der_certificate_copies(params, self._folder)
            except BaseException:
                self._remove_folder()
                raise
        return params

    def check_units(self) -> None:
        """Refuse a library whose unit calls were not checked for a tRFC alias, unless accepted."""
        library = self.library
        if self.alias.protocol != "trfc" or library.units_checked or self._unit_semantics is not None:
            return
        if self._accept_unchecked_units:
            return
        raise ConnectorConfigurationError(
            f"SAP alias '{self.alias.name}' delivers by tRFC, and what {library.name} {library.version} does in SAP "
            "on fill_and_submit_unit and confirm_unit was not checked (checked releases: "
            f"{', '.join(sorted(ERPL_INSPECTED_VERSIONS))}): a wrong guess can run an IDoc twice or confirm one that "
            "never ran. Install a checked release, or accept the risk with server.acceptUncheckedRfcLibrary: true"
        )

    def open(self) -> None:
        self.close()
        self.check_units()
        params = self.connection_parameters()
        config = {"config": self._config} if self._config else {}
        LOG.debug("opening %s with %s for SAP alias %s", self.library.name, params, self.alias.name)
        try:
            with _boundary(opening=True, secrets=tuple(params.secret_values())):
                self._connection = self.library.connection_class(**config, **params)
        except BaseException:
            self._remove_folder()
            raise

    def close(self) -> None:
        connection, self._connection, self._submitted = self._connection, None, None
        try:
            if connection is not None:
                connection.close()
        except Exception as exc:
            if map_error(exc) is None:
                raise
            LOG.debug("closing the connection for SAP alias %s: %s", self.alias.name, exc)
        finally:
            self._remove_folder()

    @property
    def is_open(self) -> bool:
        return self._connection is not None and bool(getattr(self._connection, "alive", True))

    def ping(self) -> None:
        with _boundary(function="RFC_PING"):
            self._open_connection().ping()

    def call(self, function: str, parameters: Parameters) -> Result:
        with _boundary(function=function):
            return dict(self._open_connection().call(function, **parameters))

    def get_transaction_id(self) -> str:
        with _boundary():
            unit = self._open_connection().initialize_unit(background=False)
        tid = unit.get("id") if isinstance(unit, Mapping) else unit
        if not isinstance(tid, str) or len(tid) != 24:
            raise ConnectorError(f"{self.library.name} returned no 24-character TID")
        return tid

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        if len(tid) != 24:
            raise ValueError(f"a TID has 24 characters, not {len(tid)}")
        connection = self._open_connection()
        self._release_submitted(connection, keep=tid)
        with _boundary(function=function, tid=tid):
            calls = [(function, dict(parameters))]
            connection.fill_and_submit_unit(_unit(tid), calls, queue_names=[queue] if queue else None)
            if self.unit_semantics is UnitSemantics.CONFIRM_EXECUTES:
                connection.confirm_unit(_unit(tid))
                self._confirmed.append(tid)
                return
        self._submitted = tid

    @property
    def keeps_units_on_one_connection(self) -> bool:
        return True  # the unit's handle lives on the connection that submitted it (see _release_submitted)

    def can_confirm(self, tid: str) -> bool:
        return (
            self.unit_semantics is UnitSemantics.CONFIRM_EXECUTES
            or tid in self._confirmed
            or tid == self._submitted
            or self.library.confirm_anywhere
        )

    def confirm_transaction(self, tid: str) -> None:
        if self.unit_semantics is UnitSemantics.CONFIRM_EXECUTES or tid in self._confirmed:
            return  # confirmed already (with CONFIRM_EXECUTES, by submit_transaction)
        connection = self._open_connection()
        if not self.can_confirm(tid):
            raise ConfirmNotSentError(
                f"TID {tid} was not submitted on this connection, and {self.library.name} confirms only the unit the "
                "same connection submitted: submit it again under the same TID first (SAP skips a TID it ran)",
                tid=tid,
            )
        with _boundary(tid=tid):
            connection.confirm_unit(_unit(tid))
        self._confirmed.append(tid)
        if tid == self._submitted:
            self._submitted = None

    def _release_submitted(self, connection: Any, keep: str) -> None:
        """Free the handle of an unconfirmed unit before submitting another (SAP keeps its TID)."""
        previous, self._submitted = self._submitted, None
        if previous is None or previous == keep:
            return
        LOG.warning("TID %s was submitted but not confirmed on this connection; releasing its handle", previous)
        try:
            connection.destroy_unit(_unit(previous))
        except Exception as exc:
            if map_error(exc) is None:
                raise
            LOG.warning("releasing the handle of TID %s: %s", previous, exc)

    def _open_connection(self) -> Any:
        if self._connection is None:
            raise CommunicationError(f"the connection for SAP alias '{self.alias.name}' is not open")
        return self._connection

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
