"""The ASGI app (Starlette) that serves generated SOAP services.

Per service path: POST for SOAP 1.1 and 1.2, GET ``?wsdl`` and ``?xsd``. ``/health`` answers JSON.
A POST must say it is SOAP (Content-Type text/xml or application/soap+xml), so a web page cannot send
one without a CORS preflight. At most ``max_requests_in_progress`` requests are read, parsed and run at
once (beyond that: HTTP 503 with Retry-After), and of them at most two large ones (over 1 MiB) are
parsed and run at once: the others wait, holding only their bodies.
A request is size-checked before it is read, parsed within limits (:class:`RequestLimits`), validated
against the service's XSD (as a stream when large: at most 20 errors reported),
bound to its message class and run on an executor sized from the connection pools; a request
committed to the outbox then awaits its entry on the event loop, holding no thread, and answers its
receipt (a fault only for FAILED and CANCELLED). Every failure is a SOAP fault naming the request's
transaction ID. SERVICE_ENTER and SERVICE_EXIT go to the transaction log.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import copy
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lxml import etree
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from idocbridge.adapters.chain import DirectDeliveryError
from idocbridge.adapters.mapping import MappingError
from idocbridge.connectors.errors import ABAPApplicationError, ConnectorError
from idocbridge.logs import access
from idocbridge.monitor.app import MONITOR_PATH, MonitorContext, monitor_routes
from idocbridge.monitor.auth import Gate, resolve_monitor_passwords, why_not_served
from idocbridge.soap.binding import from_xml, to_xml
from idocbridge.soap.contract import RECEIPT, OperationContract, ServiceContract
from idocbridge.soap.deployment import Deployment, ServedService
from idocbridge.soap.documents import Addressing, document_response
from idocbridge.soap.envelope import RequestLimits, parse_request, response_envelope
from idocbridge.soap.faults import HTTP_REFUSALS, SoapFault, fault_envelope, http_status
from idocbridge.soap.health import Health
from idocbridge.soap.memory import release_free_memory
from idocbridge.soap.message_id import MessageId
from idocbridge.soap.message_id import message_id as message_id_of
from idocbridge.soap.metrics import ServiceMetrics
from idocbridge.soap.namespaces import WSA
from idocbridge.soap.threads import RenewedThreads
from idocbridge.tlog.context import RequestContext, current_transaction, next_request_id, request_scope
from idocbridge.tlog.entry import Domain, LogEntry, LogType, new_transaction_id
from idocbridge.tracing import request_span
from idocbridge.transactions.outbox import AcceptBatch, Outbox, PendingDelivery, accept_batch, pending_deliveries
from idocbridge.transactions.receipts import request_receipt
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.store import MessageIdReused, RequestPartlyPurged
from idocbridge.transactions.tables import OutboxEntry

__all__ = ["blocking_threads", "create_app"]

log = logging.getLogger("idocbridge.soap")
_BODY_TIMEOUT = 30.0
_THREAD_MARGIN = 4
"""Threads beyond the pools' connections: for parsing, validation and commits while every connection is busy."""
_CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
_SOAP_MEDIA_TYPES = {"text/xml": "1.1", "application/soap+xml": "1.2"}
_MAX_REPORTED_ERRORS = 20
"""Schema errors a fault reports; validation stops counting positions beyond them."""
_TREE_VALIDATION_ELEMENTS = 2_000
"""Payloads up to this many elements are validated as a tree (errors with lines), larger ones as a stream."""
_count_elements = etree.XPath("count(descendant-or-self::*)")
_LARGE_REQUEST = 1024 * 1024
_LARGE_AT_ONCE = 2
"""Large requests worked on at once: their work is CPU-bound and their memory a request's largest cost."""
_BUSY_RETRY_AFTER = "1"
_FAULTED = frozenset({OutboxState.FAILED, OutboxState.CANCELLED})
"""Outbox states a request answers with a fault."""


@dataclass
class _Committed:
    """A request whose operation committed outbox entries: the answer waits for them on the event loop."""

    out: dict[str, Any]
    name: str
    output: str | None
    response_element: str
    version: Literal["1.1", "1.2"]
    context: RequestContext
    component: str
    started: float
    many: bool = False
    """The request carried many IDocs: its answer is the receipt of each (:func:`request_receipt`)."""


@dataclass
class _Noted:
    """What a request's handling learns for its metrics: its operation and how it was answered."""

    operation: str = "-"
    outcome: str | None = None
    transaction: str = "-"


_noted: contextvars.ContextVar[_Noted | None] = contextvars.ContextVar("idocbridge_noted", default=None)
"""The request's notes; request threads get the same object in their copy of the context."""


def _outcome(status: int) -> str:
    """The outcome of an answer that is no fault: ok, or a client's (400: it went away before its body came)."""
    return "ok" if status < 400 else "client" if status < 500 else "server"


def _current_outcome(outcome: str) -> None:
    noted = _noted.get()
    if noted is not None:
        noted.outcome = outcome


class _Endpoint:
    def __init__(self, served: ServedService, deployment: Deployment, password: str | None,
                 executor: RenewedThreads, admission: _Admission,
                 metrics: ServiceMetrics | None = None) -> None:  # fmt: skip
        self.served = served
        self.metrics = metrics
        self.deployment = deployment
        self.password = password
        self.executor = executor
        self.admission = admission
        self.limits = RequestLimits(max_depth=deployment.server.max_xml_depth)
        self.addressing = Addressing(deployment.server.public_url, deployment.server.trusted_proxy_networks)
        self._schemas = threading.local()
        self.ports = {op.name: port for port, ops in served.contract.port_types for op in ops}

    async def handle(self, request: Request) -> Response:
        """Answer one request; count it, with its operation and outcome, in the service's metrics."""
        started, noted = time.perf_counter(), _Noted()
        token = _noted.set(noted)
        try:
            response = await self._handle(request)
        except BaseException:  # cancelled (the client left, or the drain after SIGTERM ended): still one line
            access(request.method, request.url.path, 499, started, noted.operation, "cancelled", noted.transaction)
            raise
        finally:
            _noted.reset(token)
        outcome = noted.outcome or _outcome(response.status_code)
        if request.method == "POST" and self.metrics is not None:
            self.metrics.observe(self.served.contract.name, noted.operation, outcome, started)
        # the query's names as sent (still percent-encoded: nothing decoded reaches the log), not its values
        keys = [part.partition("=")[0][:40] for part in request.url.query.split("&") if part]
        path = request.url.path + (f"?{'&'.join(keys)}" if keys else "")
        access(request.method, path, response.status_code, started, noted.operation, outcome, noted.transaction)
        return response

    async def _handle(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        version: Literal["1.1", "1.2"] = "1.2" if media_type == "application/soap+xml" else "1.1"
        if not self._authorized(request):
            return self._fault(SoapFault("authentication required", "client", 401), version, "-",
                               {"WWW-Authenticate": 'Basic realm="idocbridge"'})  # fmt: skip
        if request.method in ("GET", "HEAD"):
            return self._document(request)
        transaction = new_transaction_id()
        noted = _noted.get()
        if noted is not None:
            noted.transaction = transaction
        if media_type not in _SOAP_MEDIA_TYPES:
            given = f"Content-Type {media_type}" if media_type else "no Content-Type"
            wrong = SoapFault(f"a SOAP request has Content-Type text/xml (SOAP 1.1) or application/soap+xml "
                              f"(SOAP 1.2); this one has {given}", "client", 415)  # fmt: skip
            return self._fault(wrong, version, transaction)
        if not self.admission.enter():
            busy = SoapFault(f"the service is busy: {self.admission.limit} requests are in progress; send this one "
                             f"again in a moment (nothing of it was kept)", "server", 503)  # fmt: skip
            return self._fault(busy, version, transaction, {"Retry-After": _BUSY_RETRY_AFTER})
        try:
            result, pending = await self._work(request, version, transaction)
        finally:
            self.admission.leave()
        if isinstance(result, Response):
            return result
        return await self._settle(result, pending, transaction)

    async def _work(self, request: Request, version: Literal["1.1", "1.2"],
                    transaction: str) -> tuple[Response | _Committed, list[PendingDelivery]]:  # fmt: skip
        """Read the body and run the request up to its answer or its commit to the outbox."""
        try:
            body = await asyncio.wait_for(self._body(request), _BODY_TIMEOUT)
        except SoapFault as fault:
            return self._fault(fault, version, transaction), []
        except ClientDisconnect:  # nobody is left to answer; nothing of the request was kept
            log.info("request %s: the client went away before its body arrived", transaction)
            return Response(status_code=400), []
        except TimeoutError:
            return self._fault(SoapFault(f"the request body did not arrive within {_BODY_TIMEOUT:g} s", "client", 408),
                               version, transaction), []  # fmt: skip
        # Parsing, validation, binding and the operation up to the outbox's commit run on the executor: a large
        # request or a slow SAP system never holds up the event loop. Waiting for delivery holds no thread.
        pending: list[PendingDelivery] = []
        token = pending_deliveries.set(pending)
        try:
            context = contextvars.copy_context()
        finally:
            pending_deliveries.reset(token)
        loop = asyncio.get_running_loop()
        size = len(body)
        self.executor.read(size)
        async with self.admission.large(size):  # a large request waits for its place here, holding no thread
            result = await loop.run_in_executor(self.executor, context.run, self._process, body, version,
                                                transaction)  # fmt: skip
        if size > _LARGE_REQUEST:
            del body
            await loop.run_in_executor(self.executor, release_free_memory)
        return result, pending

    def _process(self, body: bytes, version: Literal["1.1", "1.2"], transaction: str) -> Response | _Committed:
        try:
            parsed = parse_request(body, self.limits, version, _understood(self.served.contract.namespace))
            del body  # the tree holds the request from here on
            version = parsed.version
            message_id = message_id_of(parsed.header, self.served.contract.namespace)
            return self._operation(parsed.payload, version, transaction, message_id)
        except SoapFault as fault:
            return self._fault(fault, version, transaction)
        except Exception:  # the last line of defence: a fault, never a bare HTTP 500
            log.exception("request %s failed", transaction)
            return self._fault(SoapFault("the service failed; the transaction log has the details", "server"),
                               version, transaction)  # fmt: skip

    async def _settle(self, committed: _Committed, pending: list[PendingDelivery], transaction: str) -> Response:
        """Await the committed entries; answer their receipts as they stand, or a fault for FAILED/CANCELLED."""
        out = committed.out
        try:
            if committed.many:
                entries = await self._final_all(pending)
                ended = [(number, entry) for number, entry in enumerate(entries, start=1) if entry.state in _FAULTED]
                if ended:
                    return self._exit_fault(committed, _idocs_fault(entries, ended), transaction)
                out = request_receipt(entries[0].transaction_id, [Outbox.receipt(entry) for entry in entries])
            else:
                for delivery in pending:
                    entry = await self._final(delivery)
                    if entry.state in _FAULTED:
                        return self._exit_fault(committed, _outbox_fault(entry), transaction)
                    out = _refreshed(out, delivery.receipt, Outbox.receipt(entry))
            response = self._response(committed.name, committed.output, committed.response_element, out)
        except Exception as exc:  # after the commit: the fault says so, with the entry's TID and state
            if not isinstance(exc, SoapFault):
                log.exception("answering request %s failed after its commit", transaction)
            fault = (
                exc if isinstance(exc, SoapFault) else SoapFault(f"the service failed: {type(exc).__name__}", "server")
            )
            _after_commit(fault, pending)
            return self._exit_fault(committed, fault, transaction)
        self._log(committed.context, LogType.SERVICE_EXIT, committed.component, _ms(committed.started), True, "")
        return Response(response_envelope(response, committed.version), media_type=_CONTENT_TYPES[committed.version])

    def _exit_fault(self, committed: _Committed, fault: SoapFault, transaction: str) -> Response:
        self._log(committed.context, LogType.SERVICE_EXIT, committed.component, _ms(committed.started), False,
                  fault.reason[:200])  # fmt: skip
        return self._fault(fault, committed.version, transaction)

    async def _final(self, delivery: PendingDelivery) -> OutboxEntry:
        """The entry once final or its wait is over; after an error in the wait, the entry as it stands."""
        outbox = self.deployment.outbox
        try:
            return await outbox.wait_for(delivery.entry, delivery.wait, self.executor)
        except Exception:  # committed: the answer is the receipt, never a fault inviting a blind resend
            log.exception("waiting for outbox entry %s failed; answering its state as it stands", delivery.entry.id)
        try:
            entry = await asyncio.get_running_loop().run_in_executor(self.executor, outbox.store.get, delivery.entry.id)
        except Exception:
            log.exception("reading outbox entry %s failed; answering its state at the commit", delivery.entry.id)
            entry = None
        return entry or delivery.entry

    async def _final_all(self, pending: list[PendingDelivery]) -> list[OutboxEntry]:
        """The entries of a request of many IDocs, each once final or when the wait is over; after an error in
        the wait, as they stand (or as committed, if they cannot be read either)."""
        outbox, entries = self.deployment.outbox, [delivery.entry for delivery in pending]
        try:
            return await outbox.wait_for_all(entries, max(delivery.wait for delivery in pending), self.executor)
        except Exception:  # committed: the answer is the receipt, never a fault inviting a blind resend
            log.exception("waiting for %d outbox entries failed; answering their states as they stand", len(pending))
        try:
            read = await asyncio.get_running_loop().run_in_executor(
                self.executor, outbox.store.states, [entry.id for entry in entries]
            )
        except Exception:
            log.exception("reading %d outbox entries failed; answering their states at the commit", len(pending))
            read = {}
        return [read.get(entry.id, entry) for entry in entries]

    def _authorized(self, request: Request) -> bool:
        user = self.deployment.server.basic_auth_user
        if user is None:
            return True
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            given_user, _, given_password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except ValueError:
            return False
        expected = f"{user}:{self.password or ''}".encode()
        return scheme.lower() == "basic" and hmac.compare_digest(f"{given_user}:{given_password}".encode(), expected)

    def _document(self, request: Request) -> Response:
        assert self.served.published is not None
        return document_response(request, self.served.published, self.addressing)

    async def _body(self, request: Request) -> bytes:
        limit = self.deployment.server.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise SoapFault(f"the request has {int(declared)} bytes; this service takes at most {limit}", "client", 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise SoapFault(f"the request is larger than {limit} bytes", "client", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    def _operation(self, payload: etree._Element, version: Literal["1.1", "1.2"], transaction: str,
                   message_id: MessageId | None = None) -> Response | _Committed:  # fmt: skip
        contract = self.served.contract
        qname = etree.QName(payload)
        info = self.served.operations.get(qname.localname)
        operation = contract.operation(info.name) if info is not None else None
        if info is None or operation is None or qname.namespace != contract.request_namespace(operation):
            raise SoapFault(_not_an_operation(contract, qname, operation))
        if message_id is not None and not operation.honours_message_id:
            if not message_id.wsa_only:
                why = "delivery: direct" if operation.delivers else "it makes no tRFC transaction"
                raise SoapFault(f"operation {info.name} is not delivered through the outbox ({why}), so it cannot "
                                "honour a MessageId: send the request without it")  # fmt: skip
            message_id = None  # WS-Addressing's ID of the message; this operation promises no idempotency
        noted = _noted.get()
        if noted is not None:
            noted.operation = info.name
        context = RequestContext(transaction, next_request_id(), contract.name, info.name,
                                 message_id.value if message_id else None)  # fmt: skip
        component = f"urn:{contract.name}.{self.ports[info.name]}.{info.name}"
        with request_scope(context), request_span(contract.name, info.name, transaction):
            self._log(context, LogType.SERVICE_ENTER, component, 0, True, "")
            started = time.monotonic()
            try:
                out, many = self._run(payload, info.name)
                if pending_deliveries.get():
                    return _Committed(out, info.name, operation.output, operation.response_element, version, context,
                                      component, started, many)  # fmt: skip
                response = self._response(info.name, operation.output, operation.response_element, out)
            except SoapFault as fault:
                _after_commit(fault, pending_deliveries.get())
                self._log(context, LogType.SERVICE_EXIT, component, _ms(started), False, fault.reason[:200])
                raise
            self._log(context, LogType.SERVICE_EXIT, component, _ms(started), True, "")
        return Response(response_envelope(response, version), media_type=_CONTENT_TYPES[version])

    def _validate(self, payload: etree._Element, name: str) -> None:
        """Check the payload against the service's XSD, in time linear in its size however many errors it has.

        A payload of up to ``_TREE_VALIDATION_ELEMENTS`` elements is checked as a tree (its errors have their
        lines); a larger one as a stream, because lxml finds the path of every error of a tree by walking its
        siblings, which costs the square of their number."""
        schema = self._schema()
        if int(_count_elements(payload)) <= _TREE_VALIDATION_ELEMENTS:
            if schema.validate(etree.ElementTree(copy.deepcopy(payload))):
                return
            entries = list(schema.error_log)
            errors = [f"line {entry.line}: {entry.message}" for entry in entries[:_MAX_REPORTED_ERRORS]]
        else:
            parser = etree.XMLParser(schema=schema, resolve_entities=False, no_network=True, huge_tree=False)
            try:
                etree.fromstring(etree.tostring(payload, with_tail=False), parser)
                return
            except etree.XMLSyntaxError:
                entries = list(parser.error_log)
            errors = [entry.message for entry in entries[:_MAX_REPORTED_ERRORS]] or ["it does not fit the schema"]
        if len(entries) <= _MAX_REPORTED_ERRORS:
            raise SoapFault(f"the {name} request does not match the service's schema: {errors[0]}", errors=errors)
        raise SoapFault(f"the {name} request does not match the service's schema in {len(entries)} places; the "
                        f"first: {errors[0]} (the fault lists the first {len(errors)})", errors=errors)  # fmt: skip

    def _schema(self) -> etree.XMLSchema:
        """This thread's copy of the service's XSD: a schema's error log is its own, so threads must not share one."""
        schema: etree.XMLSchema | None = getattr(self._schemas, "schema", None)
        if schema is None:
            schema = etree.XMLSchema(etree.fromstring(self.served.xsd.encode("utf-8")))
            self._schemas.schema = schema
        return schema

    def _run(self, payload: etree._Element, name: str) -> tuple[dict[str, Any], bool]:
        """Validate, bind and run operation ``name``; its answer as values of the output structure, and whether
        the request carried many IDocs."""
        info = self.served.operations[name]
        operation = self.served.contract.operation(name)
        assert operation is not None
        if operation.idoc_format == "xml":
            _check_idoc_xml_request(payload, operation)  # the IDoc inside is checked against its metadata
        else:
            self._validate(payload, name)
        reader = self.served.idoc_reader
        if operation.idoc_format and reader is not None:
            idocs = reader.read(payload, operation, self.served.contract.namespace)
            if len(idocs) > 1:
                return self._run_many(idocs, operation), True
            values = idocs[0]
        else:
            values = self._request_values(payload, name, operation.input)
        return self._call(info, values), False

    def _run_many(self, idocs: list[dict[str, Any]], operation: OperationContract) -> dict[str, Any]:
        """Run the operation once per IDoc and accept all their calls in one transaction; the request's receipt.

        Each IDoc's entry has the request's transaction ID and, with a MessageId ``M``, the ID ``M`` (the first)
        or ``M#<n>`` (``n`` its number in the request; see :meth:`OutboxStore.accept_all`). What the
        operation's method returns is not used: the answer is the receipt of every IDoc."""
        name, count = operation.name, len(idocs)
        if not operation.honours_message_id:
            raise SoapFault(f"operation {name} takes one IDoc per request, and this one holds {count}: only an "
                            "operation delivered through the outbox (not delivery: direct) keeps many IDocs all "
                            "or none; send them one per request")  # fmt: skip
        if operation.output != RECEIPT:
            raise SoapFault(f"operation {name} answers with {operation.output}, which has room for one IDoc's "
                            f"answer, and this request holds {count}: send them one per request")  # fmt: skip
        context = current_transaction.get()
        assert context is not None
        info = self.served.operations[name]
        batch = AcceptBatch()
        token = accept_batch.set(batch)
        try:
            for number, values in enumerate(idocs, start=1):
                try:
                    self._call(info, values)
                except SoapFault as fault:
                    fault.reason = f"IDoc {number} of {count}: {fault.reason}; none of the request's IDocs was kept"
                    raise
                if len(batch.entries) != number:  # a hooks.py that does not run the activity once per IDoc
                    raise SoapFault(f"operation {name} hands the outbox {len(batch.entries)} tRFC call(s) for the "
                                    f"first {number} IDoc(s) of this request, so the request was not accepted: "
                                    "send its IDocs one per request")  # fmt: skip
        finally:
            accept_batch.reset(token)
        try:
            accepted = self.deployment.outbox.accept_all(batch)
        except MessageIdReused as exc:
            raise _reused(exc, context.message_id) from None
        except RequestPartlyPurged as exc:
            first = exc.entries[0]
            raise SoapFault(f"MessageId {context.message_id} was accepted before (transaction "
                            f"{first.transaction_id}) with {exc.count} IDocs, of which the outbox no longer holds "
                            f"{exc.count - len(exc.entries)} (purged after the retention period): none was sent "
                            "again; how they ended is in the transaction log (idocbridge log --transaction-id "
                            f"{first.transaction_id})", outbox_transaction=first.transaction_id) from None  # fmt: skip
        awaiting = pending_deliveries.get()
        assert awaiting is not None
        awaiting.extend(accepted)
        return request_receipt(accepted[0].entry.transaction_id, [delivery.receipt for delivery in accepted])

    def _call(self, info: Any, values: dict[str, Any]) -> dict[str, Any]:
        """Bind ``values`` to the operation's message class and run its method; the answer as values."""
        name = info.name
        try:
            message = info.request.model_validate(values)
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise SoapFault(f"the {name} request is invalid: {errors[0]}", errors=errors) from None
        method = getattr(self.served.implementation, info.method)
        try:
            result = method(message)
        except SoapFault:
            raise
        except MappingError as exc:
            if exc.side == "server":
                raise SoapFault(f"SAP's answer does not fit the response: {exc}", "server") from exc
            raise SoapFault(f"a value of the request does not fit SAP: {exc}") from exc
        except DirectDeliveryError as exc:
            raise SoapFault(str(exc)) from None
        except MessageIdReused as exc:
            context = current_transaction.get()
            raise _reused(exc, context.message_id if context else exc.entry.message_id) from None
        except ABAPApplicationError as exc:
            raise SoapFault(f"SAP refused the call: {exc.message}", "server", key=exc.key, tid=exc.tid) from exc
        except ConnectorError as exc:
            log.warning("operation %s: %s", name, exc)  # the details (addresses included) stay in the log
            retry = "; temporary: try again later" if exc.retryable else ""
            raise SoapFault(f"SAP could not be reached or refused the logon or call ({exc.key}{retry})", "server",
                            key=exc.key, tid=exc.tid) from exc  # fmt: skip
        except Exception as exc:
            log.exception("operation %s failed", name)
            raise SoapFault(f"the service failed: {type(exc).__name__}", "server") from exc
        try:
            out: dict[str, Any] = result.model_dump(by_alias=True, exclude_none=True)
        except (ValueError, TypeError, AttributeError) as exc:
            log.exception("the response of %s cannot be written", name)
            raise SoapFault(f"the response of {name} cannot be written as XML: {exc}", "server") from exc
        return out

    def _response(self, name: str, output: str | None, element: str, out: dict[str, Any]) -> etree._Element:
        """The response element of operation ``name`` holding ``out``."""
        contract = self.served.contract
        try:
            return to_xml(element, out, contract.structure(output) if output else None, contract)
        except (ValueError, TypeError, AttributeError) as exc:
            log.exception("the response of %s cannot be written", name)
            raise SoapFault(f"the response of {name} cannot be written as XML: {exc}", "server") from exc

    def _request_values(self, payload: etree._Element, name: str, input_name: str | None) -> dict[str, Any]:
        """The request as values of the input structure."""
        contract = self.served.contract
        try:
            return from_xml(payload, contract.structure(input_name), contract) if input_name else {}
        except ValueError as exc:  # a value the XSD lets through but Python cannot read (e.g. a date with a zone)
            raise SoapFault(f"the {name} request holds a value this service cannot read: {exc}") from None

    def _log(self, context: RequestContext, log_type: LogType, component: str, elapsed: int, ok: bool,
             detail: str) -> None:  # fmt: skip
        tlog = self.deployment.tlog
        if not tlog.enabled_for(log_type):
            return
        tlog.record(LogEntry(at=datetime.now(UTC), transaction_id=context.transaction_id,
                             request_id=context.request_id, component=component, elapsed_ms=elapsed,
                             state="OK" if ok else "ERROR", domain=Domain.INTERFACE, log_type=log_type,
                             param1=context.operation or "", param2=detail, service=context.service,
                             operation=context.operation))  # fmt: skip

    def _fault(self, fault: SoapFault, version: Literal["1.1", "1.2"], transaction: str,
               headers: dict[str, str] | None = None) -> Response:  # fmt: skip
        """The fault in ``version`` (the request's, unless the fault names its own), with the HTTP status that
        version gives its code (see :func:`http_status`)."""
        version = fault.version or version
        body = fault_envelope(fault, version, transaction)
        outcome = "refused" if fault.status in HTTP_REFUSALS else fault.side
        _current_outcome(outcome)
        return Response(body, status_code=http_status(fault, version), media_type=_CONTENT_TYPES[version],
                        headers=headers)  # fmt: skip


def _outbox_fault(entry: OutboxEntry) -> SoapFault:
    """The fault for an entry that ended FAILED or CANCELLED: what happened, and what can be done. An IDoc
    sent in a packet names its packet's TID."""
    tid = entry.delivery_tid
    where: dict[str, Any] = {"tid": tid, "state": str(entry.state), "outbox_transaction": entry.transaction_id}
    if entry.state == OutboxState.CANCELLED and tid is None:
        return SoapFault("this request was cancelled by an operator before it reached SAP, so nothing was "
                         "delivered: send it again with a new MessageId to deliver it", **where)  # fmt: skip
    if entry.state == OutboxState.CANCELLED:
        return SoapFault(f"this request was cancelled by an operator after SAP refused it under TID {tid}; "
                         "SAP may still hold the failed call (a qRFC queue in SMQ2): do not send it again until "
                         "your SAP team has deleted it there, or it may be posted twice", **where)  # fmt: skip
    how = (f"with the same TID (idocbridge tx retry {entry.tid})" if entry.tid else
           f"(idocbridge tx retry {entry.id}; it goes alone, under a TID of its own)")  # fmt: skip
    return SoapFault(f"SAP refused the call (outbox state FAILED): {entry.last_error}; nothing was posted. An "
                     f"operator can fix the cause in SAP and deliver it {how}; sending it again with the same "
                     "MessageId answers its state", "server", key=entry.last_error_key, **where)  # fmt: skip


def _understood(namespace: str) -> tuple[str, str]:
    """The header blocks the service processes (see :mod:`idocbridge.soap.message_id`): its own MessageId in the
    service's ``namespace`` and WS-Addressing's MessageID. Any other block marked mustUnderstand is a
    MustUnderstand fault."""
    return f"{{{namespace}}}MessageId", f"{{{WSA}}}MessageID"


def _reused(exc: MessageIdReused, sent: str | None) -> SoapFault:
    """The fault for a MessageId (``sent``) that came before with a different request."""
    first = exc.entry
    return SoapFault(f"MessageId {sent} was first sent with a different request (transaction "
                     f"{first.transaction_id}, outbox state {first.state}): send this request with a new "
                     "MessageId, or the first request unchanged to learn how it ended", tid=first.tid,
                     state=str(first.state), outbox_transaction=first.transaction_id)  # fmt: skip


def _idocs_fault(entries: list[OutboxEntry], ended: list[tuple[int, OutboxEntry]]) -> SoapFault:
    """The fault for a request of many IDocs of which some ended FAILED or CANCELLED. It says that the others
    are delivered or on their way (so the request must not be sent again), and its detail gives each IDoc's
    state, one line per IDoc (``IDoc 2: FAILED under TID ...: why``)."""
    number, first = ended[0]
    tid = first.delivery_tid
    if first.state == OutboxState.CANCELLED:
        after = f" after SAP refused it under TID {tid}" if tid else " before it reached SAP"
        what = f"IDoc {number} of {len(entries)} was cancelled by an operator{after}"
    else:
        what = f"IDoc {number} of {len(entries)}: SAP refused it (outbox state FAILED): {first.last_error}"
    more = f", and {len(ended) - 1} more IDoc(s) ended FAILED or CANCELLED" if len(ended) > 1 else ""
    reason = (f"{what}{more}. The request's other {len(entries) - len(ended)} IDoc(s) are delivered or on their "
              "way: do not send this request again (sent again with its MessageId, it answers how each IDoc "
              "ended). An operator can deliver a refused IDoc once the cause is fixed (idocbridge tx retry); a "
              "cancelled one goes again only alone, in a request of its own with a new MessageId. The fault "
              "detail gives each IDoc's state")  # fmt: skip
    side: Literal["client", "server"] = "server" if first.state == OutboxState.FAILED else "client"
    return SoapFault(reason, side, key=first.last_error_key, tid=tid, state=str(first.state),
                     outbox_transaction=first.transaction_id,
                     errors=[_idoc_line(n, entry) for n, entry in enumerate(entries, start=1)])  # fmt: skip


def _idoc_line(number: int, entry: OutboxEntry) -> str:
    tid = entry.delivery_tid
    where = f" under TID {tid}" + (f" #{entry.packet_position}" if entry.packet_position else "") if tid else ""
    why = f": {entry.last_error}" if entry.state in _FAULTED and entry.last_error else ""
    return f"IDoc {number}: {entry.state}{where}{why}"


def _after_commit(fault: SoapFault, pending: list[PendingDelivery] | None) -> None:
    """Make a fault raised after the request was committed say so, with the entry's TID and state."""
    if not pending:
        return
    entry = pending[-1].entry
    if len(pending) > 1:  # the request's IDocs: no one TID or state is the request's
        fault.reason += (
            f"; the request's {len(pending)} IDocs were committed to the outbox before this (transaction "
            f"{entry.transaction_id}) and will be delivered: do not send it again without its MessageId"
        )
        fault.outbox_transaction = entry.transaction_id
        return
    fault.reason += (
        f"; the request was committed to the outbox before this (transaction {entry.transaction_id}, "
        f"state {entry.state}) and will be delivered: do not send it again without its MessageId"
    )
    fault.tid = fault.tid or entry.tid
    fault.state, fault.outbox_transaction = str(entry.state), entry.transaction_id


def _refreshed(out: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``out`` with the receipt's values as they are now, where the operation answered them as committed.

    A hooks.py that changed a receipt value after ``super()`` keeps its own value; a value the receipt gained
    since (an IDoc's packet position) is added."""
    return {
        **out,
        **{key: value for key, value in after.items() if key not in before or (key in out and out[key] == before[key])},
    }


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _not_an_operation(contract: ServiceContract, qname: etree.QName, operation: OperationContract | None) -> str:
    """Why the request element ``qname`` names no operation of ``contract``, and what would."""
    where = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
    if operation is not None:  # the right name in the wrong namespace
        expected = contract.request_namespace(operation)
        why = " (its request holds IDoc-XML: see the WSDL)" if expected == contract.idoc_namespace else ""
        return (f"{qname.localname} in {where} is not an operation of {contract.name}: operation {operation.name} "
                f"takes its request element in namespace {expected}{why}")  # fmt: skip
    known = ", ".join(sorted(op.name for op in contract.operations))
    namespaces = f"namespace {contract.namespace}"
    if contract.takes_idoc_xml:
        namespaces += f" (those that take IDoc-XML in namespace {contract.idoc_namespace})"
    return (f"{qname.localname} in {where} is not an operation of {contract.name}; its operations are {known} "
            f"in {namespaces}")  # fmt: skip


def _check_idoc_xml_request(payload: etree._Element, operation: OperationContract) -> None:
    """The request element of an IDoc-XML operation holds one element without a namespace (the IDoc-XML
    document) and no text; its content is the reader's to check, against the IDoc type's metadata."""
    name = operation.name
    if payload.attrib:
        listed = ", ".join(sorted(str(etree.QName(key).localname) for key in payload.attrib)[:5])
        raise SoapFault(f"the {name} request element has attributes ({listed}); it has none: it holds the "
                        "IDoc-XML document only")  # fmt: skip
    children = [child for child in payload if isinstance(child.tag, str)]
    text = (payload.text or "") + "".join(child.tail or "" for child in payload)
    if text.strip():
        raise SoapFault(f"the {name} request holds text beside its IDoc-XML document: it holds one element, "
                        f"the document (e.g. <{operation.idoc_type or 'ORDERS05'}>)")  # fmt: skip
    if len(children) != 1:
        raise SoapFault(f"the {name} request holds {len(children)} elements; it holds one IDoc-XML document "
                        f"(e.g. <{operation.idoc_type or 'ORDERS05'}>), which may hold many IDOC elements")  # fmt: skip
    namespace = etree.QName(children[0]).namespace
    if namespace is not None:
        raise SoapFault(f"the {name} request's IDoc-XML document <{etree.QName(children[0]).localname}> is in "
                        f"namespace {namespace}; IDoc-XML has no namespace: write it without one")  # fmt: skip


def create_app(
    deployment: Deployment,
    basic_auth_password: str | None = None,
    monitor_passwords: Mapping[str, str] | None = None,
    host: str | None = None,
) -> Starlette:
    """The ASGI app serving every service of ``deployment``, and the monitor at /monitor where it may be served
    (see :func:`~idocbridge.monitor.auth.why_not_served`; ``host`` is the address listened on, default the
    settings').

    ``monitor_passwords`` are the monitor users' passwords (read from their references when not given)."""

    threads = blocking_threads(pool.size for pool in deployment.pools.pools)
    executor = RenewedThreads(threads, "idocbridge-soap")
    admission = _Admission(deployment.server.max_requests_in_progress or 2 * threads)
    health, metrics = Health(deployment), ServiceMetrics(deployment)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    routes: list[BaseRoute] = [
        Route("/health", health.live, methods=["GET"]),
        Route("/health/live", health.live, methods=["GET"]),
        Route("/health/ready", health.ready, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
    ]
    for served in deployment.services:
        endpoint = _Endpoint(served, deployment, basic_auth_password, executor, admission, metrics)
        routes.append(Route(served.contract.path, endpoint.handle, methods=["GET", "POST"]))
    if monitor_served(deployment, host):
        routes.append(Mount(MONITOR_PATH, routes=monitor_routes(_monitor(deployment, monitor_passwords))))
    return Starlette(routes=routes, lifespan=lifespan)


def monitor_served(deployment: Deployment, host: str | None = None) -> bool:
    """Whether ``deployment`` (listening on ``host``, default its settings') serves the monitor; says why not."""
    server = deployment.server
    why = why_not_served(deployment.monitor, host or server.host, server.basic_auth_user)
    if why is not None and deployment.monitor.enabled:
        log.warning("the monitor is not served: %s", why)
    return why is None and deployment.engine is not None


def _monitor(deployment: Deployment, passwords: Mapping[str, str] | None) -> MonitorContext:
    """What the monitor of ``deployment`` reads and acts on."""
    assert deployment.engine is not None
    if passwords is None:
        passwords = resolve_monitor_passwords(deployment.monitor)
    gate = Gate(deployment.monitor, passwords, deployment.server.public_url)
    circuits = deployment.outbox.worker.deliverer.circuits
    aliases = [alias.name for alias in deployment.model.aliases]

    def circuit_states() -> dict[str, str]:
        return {alias: "open" if circuits.is_open(alias) else "closed" for alias in aliases}

    contracts = [served.contract for served in deployment.services]
    choices = {
        "service": sorted(contract.name for contract in contracts),
        "operation": sorted({operation.name for contract in contracts for operation in contract.operations}),
        "alias": sorted(aliases),
    }
    return MonitorContext(deployment.engine, deployment.outbox.store, deployment.tlog, gate, circuit_states,
                          deployment.idoc_metadata, deployment.outbox.worker.wake, choices)  # fmt: skip


class _Admission:
    """How many requests are in progress (read, parsed, run up to their commit), and how many large ones are run.

    All of it runs on the event loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_progress = 0
        self._large = asyncio.Semaphore(_LARGE_AT_ONCE)

    def enter(self) -> bool:
        """Admit one more request, or False when ``limit`` are in progress."""
        if self._in_progress >= self.limit:
            return False
        self._in_progress += 1
        return True

    def leave(self) -> None:
        self._in_progress -= 1

    @asynccontextmanager
    async def large(self, size: int) -> AsyncIterator[None]:
        """Hold one of the large-request places while working on a request of ``size`` bytes, if over 1 MiB."""
        if size <= _LARGE_REQUEST:
            yield
            return
        async with self._large:
            yield


def blocking_threads(pool_sizes: Iterable[int]) -> int:
    """Threads for requests' blocking work: one per pooled SAP connection, and a margin for parsing and commits."""
    return sum(pool_sizes) + _THREAD_MARGIN
