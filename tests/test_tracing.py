"""OpenTelemetry traces: a span per SOAP request and per SAP call, with the transaction ID and the TID.

In-process with the SDK's in-memory exporter for the spans' shape, and end to end: a served example exports by
OTLP/HTTP to a receiver in this test, which reads what arrives with OpenTelemetry's own protobuf classes.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.sap_calls import logged_step
from idocbridge.tracing import configure_from_environment, request_span
from tests.soap.example_service import SERVICE, served_example
from tests.waiting import wait_until

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER


def test_a_sap_call_is_a_child_span_of_its_request_with_the_ids(spans: InMemorySpanExporter) -> None:
    context = RequestContext("1" * 40, 1, "Service", "Operation")
    with request_span("Service", "Operation", context.transaction_id):
        assert logged_step(None, context, "ERP.IDOC_INBOUND_ASYNCHRONOUS", "outbox:submit", "", lambda: 42,
                           "0A1B2C3D4E5F0A1B2C3D4E5F") == 42  # fmt: skip
    call, request = spans.get_finished_spans()
    assert (request.name, call.name) == ("SOAP Service.Operation", "SAP outbox:submit")
    assert call.parent is not None and call.parent.span_id == request.context.span_id
    assert dict(call.attributes or {}) == {"idocbridge.transaction_id": "1" * 40,
                                           "idocbridge.component": "ERP.IDOC_INBOUND_ASYNCHRONOUS",
                                           "idocbridge.tid": "0A1B2C3D4E5F0A1B2C3D4E5F"}  # fmt: skip
    assert dict(request.attributes or {})["idocbridge.transaction_id"] == "1" * 40


def test_without_an_endpoint_nothing_is_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert configure_from_environment() is None


class _Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint that keeps what it is sent."""

    received: list[ExportTraceServiceRequest] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        _Receiver.received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _spans() -> list[tuple[str, dict[str, str]]]:
    found = []
    for request in _Receiver.received:
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found.append((span.name, {a.key: a.value.string_value for a in span.attributes}))
    return found


def test_a_served_request_and_its_sap_call_arrive_at_the_otlp_endpoint(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    environment = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100",
                   "OTEL_SERVICE_NAME": "idocbridge-test"}  # fmt: skip
    try:
        with served_example(tmp_path, environment=environment) as (_, service):
            client = zeep.Client(service.wsdl_url(SERVICE))
            assert client.service.TestSimpleTypes(requestText="traced").echoText == "traced"

            def both() -> list[tuple[str, dict[str, str]]]:
                names = {name for name, _ in _spans()}
                return _spans() if f"SOAP {SERVICE}.TestSimpleTypes" in names and len(names) > 1 else []

            spans = wait_until(both, what="the request's and the SAP call's spans at the OTLP endpoint")
    finally:
        server.shutdown()
        server.server_close()
    request = next(attributes for name, attributes in spans if name == f"SOAP {SERVICE}.TestSimpleTypes")
    calls = [attributes for name, attributes in spans if name.startswith("SAP ")]
    assert len(request["idocbridge.transaction_id"]) == 40
    assert calls and all(call["idocbridge.transaction_id"] == request["idocbridge.transaction_id"] for call in calls)
    assert any("STFC_CONNECTION" in call["idocbridge.component"] for call in calls)
