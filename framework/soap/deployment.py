"""Load a generated folder for serving: model, settings, service classes, schemas, pools, the log.

    deployment = load_deployment_folder(Path("build/trfc"), Path("settings.yaml"))

The model comes from the folder (the generator's copy), the settings from the file given; the service
classes from each service's hooks.py (class ``Service``) or, without one, its generated base.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from lxml import etree
from sqlalchemy import Engine

from idocbridge.adapters.chain import ChainRunner
from idocbridge.connectors.configuration_check import connection_problems
from idocbridge.connectors.factory import connector_factory
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.db.engine import create_engine_for, database_url_for_state
from idocbridge.db.migrate import upgrade
from idocbridge.errors import IdocbridgeError
from idocbridge.generators.generate import MANIFEST
from idocbridge.idoc.errors import ParserFileError
from idocbridge.models.diagnostics import ModelError
from idocbridge.models.loader import load_model
from idocbridge.models.model import Model
from idocbridge.models.rules import check_model
from idocbridge.models.settings import (
    DeploymentSettings,
    MonitorSettings,
    ServerSettings,
    apply_settings,
    load_settings,
)
from idocbridge.retention import Retention
from idocbridge.soap.contract import ServiceContract, service_contracts
from idocbridge.soap.documents import PLACEHOLDER_BASE, Published
from idocbridge.soap.idoc_metadata import idoc_metadata_lookup
from idocbridge.soap.idoc_request import IDocRequestReader, MetadataLookup
from idocbridge.soap.service import OperationInfo, ServiceBase
from idocbridge.tlog.pool_hook import pool_wait_recorder
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.broadcast import Announcer, ChangeListener
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.fate import FateFollower, FateStore
from idocbridge.transactions.outbox import NotifyingStore, Outbox, StateChanges
from idocbridge.transactions.packets import PacketRule
from idocbridge.transactions.scheduler import OutboxWorker, instance_name

log = logging.getLogger(__name__)

MAX_DELIVERY_THREADS = 256
"""At most this many outbox deliveries at once, however large the pools (threads are not free, and the store keeps
the entries under way in a cache of 1,024)."""

__all__ = [
    "MAX_DELIVERY_THREADS",
    "Deployment",
    "DeploymentError",
    "ServedService",
    "load_deployment_folder",
    "packet_rules",
]


FATE_INTERVAL_SECONDS = 2.0
"""How often the service looks for confirmed IDoc units and IDoc statuses due to be read in SAP."""


class DeploymentError(IdocbridgeError):
    """A generated folder cannot be served (missing files, a broken hooks.py, a stale model)."""


@dataclass
class ServedService:
    contract: ServiceContract
    implementation: ServiceBase
    operations: dict[str, OperationInfo]
    schema: etree.XMLSchema
    wsdl: str
    xsd: str
    idoc_reader: IDocRequestReader | None = None
    """Reads the requests of operations that take an IDoc document (None: the service has none)."""
    published: Published | None = None
    """The WSDL and schemas as clients get them (``?wsdl``, ``?xsd=NAME``)."""


@dataclass
class Deployment:
    model: Model
    server: ServerSettings
    services: list[ServedService]
    pools: PoolSet
    tlog: TransactionLog
    state: Path
    outbox: Outbox
    warnings: list[str] = field(default_factory=list)
    engine: Engine | None = None
    """The runtime database's engine, disposed by :meth:`close`."""
    listener: ChangeListener | None = None
    """On PostgreSQL: hears the state changes the other instances announce."""
    announcer: Announcer | None = None
    """On PostgreSQL: announces this instance's state changes to the others."""
    idoc_metadata: MetadataLookup | None = None
    """IDoc metadata by basic type, extension and alias: the model's parser files, else SAP (cached)."""
    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    """The web monitor's settings (who may open it)."""

    def start(self) -> None:
        """Start delivering from the outbox (this resumes whatever a crash left in flight)."""
        for alias, count in self.outbox.store.undeliverable().items():
            log.warning("the outbox holds %d undelivered entries for SAP alias %s, which this deployment's model "
                        "does not have: this instance leaves them to an instance that has the alias; if no instance "
                        "serves it (check them all), restore the alias in the model, or cancel those without a TID "
                        "(idocbridge tx cancel)", count, alias)  # fmt: skip
        if self.listener is not None:
            self.listener.start()
        if self.announcer is not None:
            self.announcer.start()
        self.outbox.worker.start()

    def close(self) -> None:
        self.outbox.worker.stop()
        if self.listener is not None:
            self.listener.stop()
        if self.announcer is not None:
            self.announcer.stop()
        self.outbox.store.release_all(self.outbox.worker.owner)
        self.pools.close()
        self.tlog.close()
        if self.engine is not None:
            self.engine.dispose()


def _check_connections(model: Model, environ: Mapping[str, str] | None, server: ServerSettings) -> None:
    """Work out every alias's connection parameters once, so a missing password stops the start (see
    :func:`idocbridge.connectors.configuration_check.connection_problems`)."""
    accept = server.accept_unchecked_rfc_library
    for name, problem in connection_problems(model, environ, accept_unchecked_rfc_library=accept)[:1]:
        raise DeploymentError(f"SAP alias '{name}' cannot connect as configured: {problem}")


def _package(folder: Path) -> str:
    name = "_idocbridge_services_" + hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder.resolve())]
        sys.modules[name] = package
    return name


def _service_class(folder: Path, service: str) -> type[ServiceBase]:
    package = _package(folder)
    try:
        if (folder / service / "hooks.py").exists():
            module = importlib.import_module(f"{package}.{service}.hooks")
            implementation = getattr(module, "Service", None)
        else:
            module = importlib.import_module(f"{package}.{service}.service")
            implementation = next((v for v in vars(module).values() if isinstance(v, type)
                                   and issubclass(v, ServiceBase) and v is not ServiceBase), None)  # fmt: skip
    except Exception as exc:  # a hooks.py with a bug must stop the start, with its message
        raise DeploymentError(f"cannot import the code of service {service}: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(implementation, type) and issubclass(implementation, ServiceBase)):
        raise DeploymentError(f"{folder / service / 'hooks.py'} has no class Service derived from the generated base")
    return implementation


def load_deployment_folder(
    folder: Path, settings_path: Path | None, environ: Mapping[str, str] | None = None
) -> Deployment:
    """Everything ``idocbridge serve`` needs, checked; raises DeploymentError or ModelError."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DeploymentError(f"{folder} holds no generated services ({MANIFEST}): run idocbridge generate") from exc
    model = load_model(folder / manifest["model"]).model
    settings = load_settings(settings_path, environ) if settings_path is not None else DeploymentSettings()
    model, problems = apply_settings(model, settings)
    diagnostics = [*problems, *check_model(model)]
    if any(d.is_error for d in diagnostics):
        raise ModelError(diagnostics)
    server = settings.server or ServerSettings()
    _check_connections(model, environ, server)
    state = Path(server.state) if server.state else folder / "state"
    state.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new state folder is its owner's alone
    engine = create_engine_for(server.database or database_url_for_state(state))
    upgrade(engine)
    tlog = TransactionLog(engine, model.composite.transaction_log.level)
    factory = connector_factory(environ, call_timeout=server.sap_call_timeout_seconds,
                                accept_unchecked_units=server.accept_unchecked_rfc_library)  # fmt: skip
    pools = PoolSet(model, factory, on_wait=pool_wait_recorder(tlog))
    outbox, listener, announcer = _outbox(engine, model, server, pools, tlog)
    try:
        lookup = idoc_metadata_lookup(model, folder / manifest["model"], pools)
    except ParserFileError as exc:
        raise DeploymentError(f"an IDoc type of the model cannot be read: {exc}") from None
    services = []
    for contract in service_contracts(model):
        service_folder = folder / contract.name
        runner = ChainRunner(model, contract.name, pools, tlog, outbox=outbox, idoc_metadata=lookup)
        implementation = _service_class(folder, contract.name)(runner)
        xsd = (service_folder / "types.xsd").read_text(encoding="utf-8")
        schema = etree.XMLSchema(etree.fromstring(xsd.encode("utf-8")))
        wsdl = (service_folder / "service.wsdl").read_text(encoding="utf-8")
        reader = None
        if any(op.idoc_format for op in contract.operations):
            reader = IDocRequestReader(lookup, model.composite.sap_value_padding)
        services.append(ServedService(contract, implementation, implementation.operations(), schema, wsdl, xsd,
                                      reader, _published(contract, service_folder, wsdl, xsd)))  # fmt: skip
    warnings = [d.format() for d in diagnostics]
    return Deployment(model, server, services, pools, tlog, state, outbox, warnings, engine, listener, announcer,
                      lookup, settings.monitor or MonitorSettings())  # fmt: skip


def _outbox(
    engine: Engine, model: Model, server: ServerSettings, pools: PoolSet, tlog: TransactionLog
) -> tuple[Outbox, ChangeListener | None, Announcer | None]:
    """The outbox of a served deployment, its jobs (retention, the IDocs' fate in SAP) scheduled, and on
    PostgreSQL what hears and tells the other instances of state changes."""
    changes = StateChanges()  # wakes requests awaiting an entry when this instance changes its state
    instance = instance_name()
    postgresql = engine.dialect.name == "postgresql"
    announcer = Announcer(engine, instance) if postgresql else None
    following = [alias.name for alias in model.aliases if alias.protocol == "trfc" and alias.follow_idoc_status]
    store = NotifyingStore(engine, changes, packets=packet_rules(model), announcer=announcer, follow_fate=following,
                           aliases=pools.aliases)  # fmt: skip
    listener = ChangeListener(engine, instance, changes.poke) if postgresql else None
    lease = timedelta(seconds=server.outbox_lease_seconds)
    max_delivery = timedelta(seconds=server.max_delivery_seconds)
    deliverer = Deliverer(store, pools, tlog, instance, lease=lease, max_delivery=max_delivery)
    # four times the connections: a delivery gives its connection back while the outbox commits (OnDemandConnection),
    # so the others keep SAP busy meanwhile, and the more deliveries commit at once, the more of their state changes
    # share a transaction (docs/performance.md, "More delivery threads")
    workers = min(MAX_DELIVERY_THREADS, max(4, 4 * sum(pool.size for pool in pools.pools)))
    worker = OutboxWorker(store, deliverer, workers=workers, lease=lease)
    outbox = Outbox(store, worker, synchronous_wait=server.synchronous_wait_seconds, changes=changes)
    retention = Retention(engine, store, server.log_retention_days, server.outbox_retention_days)
    outbox.worker.every("retention", 24, retention.run)
    follower = FateFollower(FateStore(engine), pools, tlog, dict.fromkeys(following, True),
                            partial(_fate_may_ask, pools, deliverer.circuits, worker))  # fmt: skip
    outbox.worker.repeat("idoc-fate", FATE_INTERVAL_SECONDS, follower.run_once)
    return outbox, listener, announcer


def _fate_may_ask(pools: PoolSet, circuits: Circuits, worker: OutboxWorker, alias: str) -> bool:
    """Whether the fate follower may ask SAP about IDocs of ``alias`` now: not while its circuit is open (SAP is
    unreachable), nor while deliveries use every connection of its pool, wait for one, or use every delivery
    thread (deliveries come first; the IDocs stay due and are read once the load eases)."""
    if circuits.is_open(alias):
        return False
    stats = pools.for_alias(alias).stats()
    return stats.in_use < stats.size and not stats.waiting and worker.spare()


def _published(contract: ServiceContract, folder: Path, wsdl: str, xsd: str) -> Published:
    """The documents of the generated service in ``folder``: its WSDL, its schema, the IDoc-XML requests'
    schema and each IDoc type's schema (where the generator wrote them)."""
    schemas = {"types": xsd}
    names = [("idoc", "idoc.xsd")] + [(name, f"{name}.xsd") for name in contract.idoc_types]
    for name, file in names:
        if (folder / file).is_file():
            schemas[name] = (folder / file).read_text(encoding="utf-8")
    # Dated when the service loads them: the WSDL's address also follows the settings (publicUrl) it starts with
    return Published(contract.name, contract.path, wsdl, f"{PLACEHOLDER_BASE}{contract.path}", schemas,
                     datetime.now(UTC))  # fmt: skip


def packet_rules(model: Model) -> dict[str, PacketRule]:
    """The packet rule of each tRFC alias whose model asks for IDoc packets."""
    return {
        alias.name: PacketRule(alias.idoc_packets.size, alias.idoc_packets.max_wait_ms / 1000)
        for alias in model.aliases
        if alias.idoc_packets is not None and alias.protocol == "trfc"
    }
