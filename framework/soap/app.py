"""The ASGI app (Starlette) that serves generated SOAP services.

Per service path: POST for SOAP 1.1 and 1.2, GET ``?wsdl`` and ``?xsd``. ``/health`` answers JSON.
A request is size-checked before it is read, parsed safely, validated against the service's XSD,
bound to its message class and run off the event loop; every failure is a SOAP fault naming the
request's transaction ID. SERVICE_ENTER and SERVICE_EXIT go to the transaction log.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hmac
import logging
import time
from datetime import UTC, datetime
from typing import Any, Literal

from lxml import etree
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from idocbridge.adapters.chain import DirectDeliveryError
from idocbridge.adapters.mapping import MappingError
from idocbridge.connectors.errors import ABAPApplicationError, ConnectorError
from idocbridge.soap.binding import from_xml, to_xml
from idocbridge.soap.deployment import Deployment, ServedService
from idocbridge.soap.envelope import parse_request, response_envelope
from idocbridge.soap.faults import SoapFault, fault_envelope
from idocbridge.tlog.context import RequestContext, next_request_id, request_scope
from idocbridge.tlog.entry import Domain, LogEntry, LogType, new_transaction_id
from idocbridge.transactions.outbox import DeliveryFailed, DeliveryPending
from idocbridge.transactions.states import OutboxState

__all__ = ["create_app"]

log = logging.getLogger("idocbridge.soap")
_BODY_TIMEOUT = 30.0
_CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}


class _Endpoint:
    def __init__(self, served: ServedService, deployment: Deployment, password: str | None) -> None:
        self.served = served
        self.deployment = deployment
        self.password = password
        self.ports = {op.name: port for port, ops in served.contract.port_types for op in ops}

    async def handle(self, request: Request) -> Response:
        if not self._authorized(request):
            version: Literal["1.1", "1.2"] = "1.2" if "soap+xml" in request.headers.get("content-type", "") else "1.1"
            return self._fault(SoapFault("authentication required", "client", 401), version, "-",
                               {"WWW-Authenticate": 'Basic realm="idocbridge"'})  # fmt: skip
        if request.method == "GET":
            return self._document(request)
        transaction = new_transaction_id()
        version = "1.2" if "soap+xml" in request.headers.get("content-type", "") else "1.1"
        try:
            body = await asyncio.wait_for(self._body(request), _BODY_TIMEOUT)
        except SoapFault as fault:
            return self._fault(fault, version, transaction)
        except TimeoutError:
            return self._fault(SoapFault(f"the request body did not arrive within {_BODY_TIMEOUT:g} s", "client", 408),
                               version, transaction)  # fmt: skip
        # Parsing, validation, binding and the operation itself run in a worker thread: a large request or a
        # slow SAP system never holds up the event loop.
        return await asyncio.to_thread(self._process, body, version, transaction)

    def _process(self, body: bytes, version: Literal["1.1", "1.2"], transaction: str) -> Response:
        try:
            parsed = parse_request(body, self.deployment.server.max_xml_depth)
            version = parsed.version
            message_id = self._message_id(parsed.header)
            return self._operation(parsed.payload, version, transaction, message_id)
        except SoapFault as fault:
            return self._fault(fault, version, transaction)
        except Exception:  # the last line of defence: a fault, never a bare HTTP 500
            log.exception("request %s failed", transaction)
            return self._fault(SoapFault("the service failed; the transaction log has the details", "server"),
                               version, transaction)  # fmt: skip

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
        contract = self.served.contract
        if "wsdl" in request.query_params:
            location = str(request.url.replace(query="")).rstrip("/")
            wsdl = self.served.wsdl.replace(f"http://localhost:8080{contract.path}", location)
            return Response(wsdl, media_type="text/xml; charset=utf-8")
        if "xsd" in request.query_params:
            return Response(self.served.xsd, media_type="text/xml; charset=utf-8")
        return PlainTextResponse(f"SOAP service {contract.name}: POST SOAP requests here; WSDL at ?wsdl\n")

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

    def _message_id(self, header: etree._Element | None) -> str | None:
        if header is None:
            return None
        namespace = self.served.contract.namespace
        for block in header:
            if not isinstance(block.tag, str) or block.tag == f"{{{namespace}}}MessageId":
                continue
            must = {value for key, value in block.attrib.items() if etree.QName(key).localname == "mustUnderstand"}
            if must & {"1", "true"}:
                raise SoapFault(f"header {etree.QName(block).localname} is not understood here", code="MustUnderstand")
        element = header.find(f"{{{namespace}}}MessageId")
        if element is None:
            return None
        value = (element.text or "").strip()
        if not 1 <= len(value) <= 120:
            raise SoapFault("the MessageId header holds 1 to 120 characters")
        return value

    def _operation(self, payload: etree._Element, version: Literal["1.1", "1.2"], transaction: str,
                   message_id: str | None = None) -> Response:  # fmt: skip
        contract = self.served.contract
        qname = etree.QName(payload)
        info = self.served.operations.get(qname.localname)
        if info is None or qname.namespace != contract.namespace:
            known = ", ".join(sorted(self.served.operations))
            where = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
            raise SoapFault(f"{qname.localname} in {where} is not an operation of {contract.name}; "
                            f"its operations are {known} in namespace {contract.namespace}")  # fmt: skip
        operation = contract.operation(info.name)
        assert operation is not None
        context = RequestContext(transaction, next_request_id(), contract.name, info.name, message_id)
        component = f"urn:{contract.name}.{self.ports[info.name]}.{info.name}"
        with request_scope(context):
            self._log(context, LogType.SERVICE_ENTER, component, 0, True, "")
            started = time.monotonic()
            try:
                response = self._run(payload, info.name, operation.input, operation.output, operation.response_element)
            except SoapFault as fault:
                self._log(context, LogType.SERVICE_EXIT, component, _ms(started), False, fault.reason[:200])
                raise
            self._log(context, LogType.SERVICE_EXIT, component, _ms(started), True, "")
        return Response(response_envelope(response, version), media_type=_CONTENT_TYPES[version])

    def _run(self, payload: etree._Element, name: str, input_name: str | None, output_name: str | None,
             response_element: str) -> etree._Element:  # fmt: skip
        contract = self.served.contract
        document = etree.ElementTree(copy.deepcopy(payload))
        if not self.served.schema.validate(document):
            errors = [f"line {e.line}: {e.message}" for e in self.served.schema.error_log]
            raise SoapFault(f"the {name} request does not match the service's schema: {errors[0]}", errors=errors)
        info = self.served.operations[name]
        values = self._request_values(payload, name, input_name)
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
        except DeliveryFailed as exc:
            entry = exc.entry
            if entry.state == OutboxState.CANCELLED:
                raise SoapFault("this request was cancelled by an operator before it reached SAP: send it again "
                                "with a new MessageId to deliver it", tid=entry.tid) from exc  # fmt: skip
            raise SoapFault(f"SAP refused the call: {entry.last_error}", "server", key=entry.last_error_key,
                            tid=entry.tid) from exc  # fmt: skip
        except DeliveryPending as exc:
            entry = exc.entry
            raise SoapFault(f"not confirmed in time (state {entry.state}); delivery goes on in the background: "
                            "send the request again with the same MessageId to learn how it ended", "server",
                            tid=entry.tid) from exc  # fmt: skip
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
            out = result.model_dump(by_alias=True, exclude_none=True)
            return to_xml(response_element, out, contract.structure(output_name) if output_name else None, contract)
        except (ValueError, TypeError, AttributeError) as exc:
            log.exception("the response of %s cannot be written", name)
            raise SoapFault(f"the response of {name} cannot be written as XML: {exc}", "server") from exc

    def _request_values(self, payload: etree._Element, name: str, input_name: str | None) -> dict[str, Any]:
        """The request as values of the input structure (an IDoc request becomes IDocRecords)."""
        contract = self.served.contract
        operation = contract.operation(name)
        if operation is not None and operation.idoc_format and self.served.idoc_reader is not None:
            return self.served.idoc_reader.read(payload, operation, contract.namespace)
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
        status = fault.status
        if status == 500 and version == "1.2" and fault.side == "client":
            status = 400
        body = fault_envelope(fault, version, transaction)
        return Response(body, status_code=status, media_type=_CONTENT_TYPES[version], headers=headers)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def create_app(deployment: Deployment, basic_auth_password: str | None = None) -> Starlette:
    """The ASGI app serving every service of ``deployment``."""

    async def health(request: Request) -> Response:
        services = [{"name": s.contract.name, "path": s.contract.path, "operations": sorted(s.operations)}
                    for s in deployment.services]  # fmt: skip
        return JSONResponse({"status": "ok", "model": deployment.model.name, "services": services})

    routes = [Route("/health", health, methods=["GET"])]
    for served in deployment.services:
        endpoint = _Endpoint(served, deployment, basic_auth_password)
        routes.append(Route(served.contract.path, endpoint.handle, methods=["GET", "POST"]))
    return Starlette(routes=routes)
