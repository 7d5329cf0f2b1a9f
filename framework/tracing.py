"""OpenTelemetry traces, where the optional extra is installed (``pip install 'idocbridge[otel]'``).

A span per SOAP request (``SOAP <service>.<operation>``) and one per SAP call (``SAP <what>``, e.g.
``SAP outbox:submit``), each with the request's transaction ID (``idocbridge.transaction_id``) and, for SAP
calls, the tRFC TID (``idocbridge.tid``), the alias and function (``idocbridge.component``). The SAP calls of a
request answered at once are children of its span; the outbox's deliveries run later on threads of their own,
so their spans begin traces of their own, found by the transaction ID.

``idocbridge serve`` exports them by OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and the extra is installed (:func:`configure_from_environment`);
the standard ``OTEL_*`` variables (service name, headers, sampling) apply. Without the extra, or without an
exporter, spans cost nothing beyond a function call. Nothing of a request's content is an attribute.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["configure_from_environment", "request_span", "sap_call_span"]

log = logging.getLogger("idocbridge.tracing")

_trace: ModuleType | None
try:  # the optional extra
    from opentelemetry import trace as _imported

    _trace = _imported
except ImportError:  # pragma: no cover - exercised where the extra is missing
    _trace = None

_TRACER_NAME = "idocbridge"


@contextmanager
def request_span(service: str, operation: str, transaction_id: str) -> Iterator[None]:
    """A span around one SOAP request's work."""
    if _trace is None:
        yield
        return
    with _trace.get_tracer(_TRACER_NAME).start_as_current_span(
        f"SOAP {service}.{operation}", kind=_trace.SpanKind.SERVER,
        attributes={"idocbridge.transaction_id": transaction_id, "idocbridge.service": service,
                    "idocbridge.operation": operation},
    ):  # fmt: skip
        yield


@contextmanager
def sap_call_span(what: str, component: str, transaction_id: str, tid: str | None) -> Iterator[None]:
    """A span around one SAP call (``what``: ``outbox:submit``, ``call`` ...) to ``component``."""
    if _trace is None:
        yield
        return
    attributes = {"idocbridge.transaction_id": transaction_id, "idocbridge.component": component}
    if tid:
        attributes["idocbridge.tid"] = tid
    with _trace.get_tracer(_TRACER_NAME).start_as_current_span(f"SAP {what}", kind=_trace.SpanKind.CLIENT,
                                                               attributes=attributes):  # fmt: skip
        yield


def configure_from_environment() -> str | None:
    """Export spans by OTLP/HTTP when an OTLP endpoint is set in the environment and the extra is installed;
    the endpoint, or None when nothing is exported."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set, but the otel extra is not installed: no traces "
                    "(pip install 'idocbridge[otel]')")  # fmt: skip
        return None
    service = os.environ.get("OTEL_SERVICE_NAME", "idocbridge")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    assert _trace is not None  # the SDK imported, so did the API
    _trace.set_tracer_provider(provider)
    return endpoint
