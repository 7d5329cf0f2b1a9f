"""``GET /metrics``: the service in Prometheus' text format (prometheus-client), for operations teams.

Measured as requests pass (one registry per app, so that tests and several apps in one process do not mix):

- ``idocbridge_requests_total{service, operation, outcome}``: requests answered, by outcome: ``ok``, ``client``
  (a fault on the sender's side), ``server`` (on the service's or SAP's side) or ``refused`` (answered at the
  HTTP level: authentication, too large, too slow, not SOAP, busy); ``operation`` is ``-`` before the request
  named one;
- ``idocbridge_request_duration_seconds{service, operation}``: a histogram of the time to the answer.

Read from the runtime at each scrape:

- ``idocbridge_outbox_entries{state}``: outbox entries by state (one GROUP BY on the outbox);
- ``idocbridge_outbox_oldest_unconfirmed_seconds{alias}``: age of the oldest entry holding a TID SAP has not
  confirmed (SM58's oldest entry; aliases without one are left out);
- ``idocbridge_outbox_unserved_entries{alias}``: entries waiting for a SAP alias this instance's model does not
  have, which it does not deliver (aliases without such entries are left out);
- ``idocbridge_outbox_retries_total{alias}``: deliveries set to wait for a retry by this process;
- ``idocbridge_circuit_open{alias}``: 1 while the alias's circuit is open (SAP unreachable), else 0;
- ``idocbridge_pool_connections{alias, kind}`` (``size``, ``open``, ``in_use``) and
  ``idocbridge_pool_waits_total{alias}``: the SAP connection pools;
- ``idocbridge_log_entries_total{outcome}`` (``written``, ``dropped``, ``failed``): the transaction log's writer.

Nothing of a request's content, and no secret, is a label: only names from the model and states.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from idocbridge.soap.deployment import Deployment
from idocbridge.soap.single_flight import SingleFlight

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

log = logging.getLogger("idocbridge.soap")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SCRAPE_SECONDS = 10.0
_DURATIONS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ServiceMetrics:
    """The metrics of one served deployment, and the ``/metrics`` endpoint that writes them."""

    def __init__(self, deployment: Deployment) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._scrape = SingleFlight(lambda: generate_latest(self.registry), "idocbridge-metrics")
        self.requests = Counter("idocbridge_requests", "SOAP requests answered, by outcome",
                                ["service", "operation", "outcome"], registry=self.registry)  # fmt: skip
        self.durations = Histogram("idocbridge_request_duration_seconds", "Time from a request to its answer",
                                   ["service", "operation"], buckets=_DURATIONS, registry=self.registry)  # fmt: skip
        self.registry.register(_RuntimeCollector(deployment))

    def observe(self, service: str, operation: str, outcome: str, started: float) -> None:
        """Count a request answered with ``outcome`` that began at ``started`` (``time.perf_counter()``)."""
        self.requests.labels(service, operation, outcome).inc()
        self.durations.labels(service, operation).observe(time.perf_counter() - started)

    async def endpoint(self, request: Request) -> Response:
        """The metrics, gathered on a thread of their own (they read the database), one scrape at a time:
        scrapes that come while one runs get its answer."""
        try:
            body = await self._scrape.result(_SCRAPE_SECONDS)
        except TimeoutError:
            return Response(f"the metrics were not gathered within {_SCRAPE_SECONDS:g} s\n", status_code=503,
                            media_type="text/plain; charset=utf-8")  # fmt: skip
        return Response(body, media_type=CONTENT_TYPE)


class _RuntimeCollector(Collector):
    """Reads the outbox, circuits, pools and the log's writer at each scrape."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._aliases = [alias.name for alias in deployment.model.aliases]

    def describe(self) -> list[Metric]:
        return []  # families are named at collect time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._circuits_and_pools()
        stats = self._deployment.tlog.stats()
        logged = CounterMetricFamily("idocbridge_log_entries", "Transaction log entries by what became of them",
                                     labels=["outcome"])  # fmt: skip
        for outcome, count in (("written", stats.written), ("dropped", stats.dropped), ("failed", stats.failed)):
            logged.add_metric([outcome], count)
        yield logged

    def _outbox(self) -> Iterator[Metric]:
        outbox = self._deployment.outbox
        entries = GaugeMetricFamily("idocbridge_outbox_entries", "Outbox entries by state", labels=["state"])
        oldest = GaugeMetricFamily("idocbridge_outbox_oldest_unconfirmed_seconds",
                                   "Age of the oldest entry whose TID SAP has not confirmed",
                                   labels=["alias"])  # fmt: skip
        unserved = GaugeMetricFamily("idocbridge_outbox_unserved_entries",
                                     "Entries waiting for a SAP alias this instance's model does not have",
                                     labels=["alias"])  # fmt: skip
        try:
            for state, count in outbox.store.counts().items():
                entries.add_metric([state.value], count)
            now = datetime.now(UTC)
            for alias, accepted in sorted(outbox.store.oldest_unconfirmed().items()):
                oldest.add_metric([alias], max(0.0, (now - accepted).total_seconds()))
            for alias, count in outbox.store.undeliverable().items():
                unserved.add_metric([alias], count)
        except Exception:  # a scrape must answer: the database's trouble shows in /health/ready
            log.warning("reading the outbox for /metrics failed", exc_info=True)
        yield entries
        yield oldest
        yield unserved
        retries = CounterMetricFamily("idocbridge_outbox_retries", "Deliveries set to wait for a retry",
                                      labels=["alias"])  # fmt: skip
        for alias, count in sorted(outbox.worker.deliverer.retries.items()):
            retries.add_metric([alias], count)
        yield retries

    def _circuits_and_pools(self) -> Iterator[Metric]:
        circuits = self._deployment.outbox.worker.deliverer.circuits
        circuit = GaugeMetricFamily("idocbridge_circuit_open", "1 while the alias's circuit is open", labels=["alias"])
        connections = GaugeMetricFamily("idocbridge_pool_connections", "SAP connections of the alias's pool",
                                        labels=["alias", "kind"])  # fmt: skip
        waits = CounterMetricFamily("idocbridge_pool_waits", "Waits of requests for a free SAP connection",
                                    labels=["alias"])  # fmt: skip
        for alias in self._aliases:
            circuit.add_metric([alias], 1.0 if circuits.is_open(alias) else 0.0)
            stats = self._deployment.pools.for_alias(alias).stats()
            for kind, value in (("size", stats.size), ("open", stats.open), ("in_use", stats.in_use)):
                connections.add_metric([alias, kind], value)
            waits.add_metric([alias], stats.waits)
        yield circuit
        yield connections
        yield waits
