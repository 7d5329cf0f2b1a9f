"""Deployment settings: per-environment overrides of alias tagged values and composite settings.

The reference runtime calls this the configuration descriptor. A settings file changes a deployment
without touching the model; secrets stay ``${ENV}`` or ``${file:...}`` references here too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from idocbridge.models.alias import AliasSettings, SAPAlias
from idocbridge.models.composite import Composite
from idocbridge.models.diagnostics import Diagnostic, ModelError
from idocbridge.models.element import Element
from idocbridge.models.fields import invalid
from idocbridge.models.index import ModelIndex
from idocbridge.models.loader import LoadedModel, load_model, parse_element, read_source
from idocbridge.models.model import Model
from idocbridge.models.rules import check_model
from idocbridge.models.rules.context import Checker
from idocbridge.models.secrets import is_reference
from idocbridge.models.settings_values import resolve_values
from idocbridge.models.source import SourceNode

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = [
    "AliasOverride",
    "DeploymentSettings",
    "MonitorSettings",
    "MonitorUser",
    "ServerSettings",
    "apply_settings",
    "load_deployment",
    "load_settings",
]


class _OverrideIdentity(Element):
    name: str
    """The name of the model's SAP alias to override."""


class AliasOverride(AliasSettings, _OverrideIdentity):
    """New values for some tagged values of one SAP alias; what is not given stays as modelled."""

    label: ClassVar[str] = "alias override"
    xml_tag: ClassVar[str] = "alias"


BASIC_AUTH_HINT = (
    "basicAuthPassword: ${IDOCBRIDGE_BASIC_AUTH_PASSWORD} and set IDOCBRIDGE_BASIC_AUTH_PASSWORD in the service's "
    "environment (or ${file:/run/secrets/basic_auth_password})"
)


def _check_server(checker: Checker, server: ServerSettings | None) -> None:
    """The basic auth password is a secret: a reference, not a literal (as SAP passwords are)."""
    password = server.basic_auth_password if server is not None else None
    if server is None or not password:
        return
    if "${" in password and not is_reference(password):
        checker.error(server, "basic_auth_password", "the basicAuthPassword reference is malformed",
                      "write ${ENV_VAR} or ${file:/path/to/file}")  # fmt: skip
    elif not is_reference(password):
        checker.warning(server, "basic_auth_password", "basicAuthPassword holds a literal password",
                        f"write {BASIC_AUTH_HINT}")  # fmt: skip


def _check_monitor(checker: Checker, monitor: MonitorSettings | None) -> None:
    """Monitor passwords are secrets too: references, not literals."""
    for user in monitor.users if monitor is not None else []:
        if "${" in user.password and not is_reference(user.password):
            checker.error(user, "password", f"the password reference of monitor user {user.name!r} is malformed",
                          "write ${ENV_VAR} or ${file:/path/to/file}")  # fmt: skip
        elif not is_reference(user.password):
            checker.warning(user, "password", f"monitor user {user.name!r} has a literal password",
                            "write password: ${IDOCBRIDGE_MONITOR_PASSWORD} (a variable of your choice) and set it "
                            "in the service's environment, or ${file:/run/secrets/monitor_password}")  # fmt: skip


class ServerSettings(Element):
    """How ``idocbridge serve`` listens: address, TLS, HTTP basic auth and request limits."""

    label: ClassVar[str] = "server settings"
    xml_tag: ClassVar[str] = "server"

    host: str = "127.0.0.1"
    """Address to listen on (0.0.0.0 for every interface)."""
    port: int = Field(default=8080, ge=0, le=65535)
    """TCP port (0: any free port)."""
    tls_certificate: str | None = None
    """PEM file of the server certificate (chain); with tlsKey the service speaks HTTPS."""
    tls_key: str | None = None
    """PEM file of the server's private key."""
    basic_auth_user: str | None = None
    """User name clients must send (HTTP basic auth); none means no authentication. Needs basicAuthPassword."""
    basic_auth_password: str | None = None
    """The password for basicAuthUser, as ${ENV_VAR} or ${file:/path} (a literal draws a warning)."""
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest request body accepted; larger ones get a SOAP fault without being read."""
    max_xml_depth: int = Field(default=64, ge=8, le=1000)
    """Deepest element nesting accepted in a request."""
    max_requests_in_progress: int | None = Field(default=None, ge=1, le=10_000)
    """Requests read, parsed and run at once; more get HTTP 503 with Retry-After. Default: twice the threads."""
    header_timeout_seconds: int = Field(default=10, ge=1, le=300)
    """Longest a client may take to send a request's headers (from connecting or its last request); then the
    connection is closed."""
    idle_timeout_seconds: int = Field(default=5, ge=1, le=3600)
    """How long an idle keep-alive connection stays open."""
    state: str | None = None
    """Folder of the service's state (transaction log); default: a folder next to the generated service."""
    database: str | None = None
    """Database URL for the runtime's state, instead of SQLite in the state folder."""
    outbox_lease_seconds: int = Field(default=60, ge=1, le=3600)
    """How long an instance owns an outbox entry it works on; if it dies, others take over after this."""
    sap_call_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    """Longest wait for SAP's answer to one call; then the call counts as a communication failure."""
    max_delivery_seconds: int = Field(default=600, ge=10, le=86400)
    """Longest one delivery of an outbox entry may run; then it is abandoned and retried with the same TID."""
    accept_unchecked_rfc_library: bool = False
    """Let tRFC aliases use an erpl-pyrfc release whose unit calls were not checked (see docs/connectors.md)."""
    synchronous_wait_seconds: int = Field(default=60, ge=1, le=3600)
    """How long a ``delivery: synchronous`` request waits for the confirm before it answers the receipt as it stands."""
    log_retention_days: int | None = Field(default=30, ge=1)
    """Days the transaction log is kept; a job in the service purges older entries daily. None keeps all."""
    outbox_retention_days: int | None = Field(default=30, ge=1)
    """Days confirmed and cancelled outbox entries are kept, with their MessageIds (FAILED ones stay)."""
    public_url: str | None = None
    """The URL clients reach the server at (scheme, host, port, a path prefix): the services' WSDL addresses
    start with it, whatever the request's Host says. Set it behind a reverse proxy or load balancer."""
    trusted_proxies: str | None = None
    """Comma-separated addresses or networks of reverse proxies (``10.0.0.0/8, 127.0.0.1``): only requests
    from them have their X-Forwarded-Proto and X-Forwarded-Host believed (for the WSDL address)."""

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """``trusted_proxies`` as networks (checked when the settings were read)."""
        return tuple(ipaddress.ip_network(entry.strip())
                     for entry in (self.trusted_proxies or "").split(",") if entry.strip())  # fmt: skip

    @model_validator(mode="after")
    def _proxies_and_url(self) -> ServerSettings:
        for entry in (self.trusted_proxies or "").split(","):
            try:
                if entry.strip():
                    ipaddress.ip_network(entry.strip())
            except ValueError as exc:
                why = "has host bits set" if "host bits" in str(exc) else "is no IP address or network"
                raise invalid(f"trustedProxies: {entry.strip()!r} {why}",
                              "list addresses or networks separated by commas, e.g. 10.0.0.5, 10.1.0.0/16",
                              key="trustedProxies") from None  # fmt: skip
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if "@" in parts.netloc:  # not echoed: it may hold a password
                raise invalid("publicUrl holds a user name (and perhaps a password): the WSDL would publish them",
                              "give scheme, host, optional port and path prefix only, e.g. "
                              "https://gateway.example.com/idocbridge", key="publicUrl")  # fmt: skip
            if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
                    or any(c in self.public_url for c in ' "<>\'`\\')):  # fmt: skip
                raise invalid(f"publicUrl {self.public_url!r} is no http(s) URL of a server",
                              "give scheme, host, optional port and path prefix (no user, query or quotes), e.g. "
                              "https://soap.example.com or https://gateway.example.com/idocbridge",
                              key="publicUrl")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise invalid("tlsCertificate and tlsKey go together", "give both PEM files, or neither for plain HTTP")
        return self

    @model_validator(mode="after")
    def _basic_auth_pair(self) -> ServerSettings:
        """A user needs a password (an empty one would let anyone in); a password alone would switch nothing on."""
        if self.basic_auth_user is not None and not self.basic_auth_user.strip():
            raise invalid("basicAuthUser is empty", "give the user clients send, or remove basicAuthUser and "
                          "basicAuthPassword to serve without authentication", key="basicAuthUser")  # fmt: skip
        if self.basic_auth_user is not None and not self.basic_auth_password:
            raise invalid("basicAuthUser needs basicAuthPassword", f"add {BASIC_AUTH_HINT}", key="basicAuthUser")
        if self.basic_auth_user is None and self.basic_auth_password is not None:
            raise invalid("basicAuthPassword without basicAuthUser leaves the service without authentication",
                          "add basicAuthUser: <the user clients send>, or remove basicAuthPassword",
                          key="basicAuthPassword")  # fmt: skip
        return self


MonitorRole = Literal["viewer", "operator"]


class MonitorUser(Element):
    """A person who may open the web monitor: name, password and what they may do."""

    label: ClassVar[str] = "monitor user"
    xml_tag: ClassVar[str] = "user"

    name: str
    """The user name the browser sends (HTTP basic auth)."""
    password: str
    """The password, as ${ENV_VAR} or ${file:/path} (a literal draws a warning)."""
    role: MonitorRole = "viewer"
    """viewer: reads everything; operator: may also retry and cancel outbox entries."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or ":" in value:
            raise invalid(f"monitor user name {value!r} is empty or holds ':'",
                          "give a name without ':' (HTTP basic auth separates name and password with it)")  # fmt: skip
        return value


class MonitorSettings(Element):
    """The web monitor that ``idocbridge serve`` serves (see docs/monitor.md)."""

    label: ClassVar[str] = "monitor settings"
    xml_tag: ClassVar[str] = "monitor"

    enabled: bool = True
    """Serve the monitor at /monitor."""
    users: list[MonitorUser] = Field(default_factory=list)
    """Who may open it, each a viewer or an operator. Without users it is open to view (never to act), and served
    only on a loopback address of a service without basicAuthUser."""

    @model_validator(mode="after")
    def _unique_users(self) -> MonitorSettings:
        names = [user.name for user in self.users]
        for name in names:
            if names.count(name) > 1:
                raise invalid(f"monitor user {name!r} is listed twice", "list each user once, with one role",
                              key="users")  # fmt: skip
        return self


class DeploymentSettings(Element):
    """A settings file: the environment's name, composite settings and alias overrides."""

    label: ClassVar[str] = "deployment settings"
    xml_tag: ClassVar[str] = "settings"

    environment: str | None = None
    """A name for the environment these settings describe, e.g. production."""
    composite: Composite | None = None
    """Composite settings to override (only those given)."""
    aliases: list[AliasOverride] = Field(default_factory=list)
    server: ServerSettings | None = None
    """How ``idocbridge serve`` listens."""
    monitor: MonitorSettings | None = None
    """The web monitor: who may open it and act in it."""


def load_settings(
    path: str | Path, environ: Mapping[str, str] | None = None, *, as_written: bool = False
) -> DeploymentSettings:
    """Read and validate a settings file (``*.yaml`` or ``*.xml``) as a deployment uses it: ``${ENV}`` values
    from ``environ`` (default: the process's environment), relative paths from the file's folder (see
    :mod:`idocbridge.models.settings_values`). ``as_written`` keeps the values as the file has them (for
    converting the file). Raises :class:`ModelError` naming each problem at its line."""
    path = Path(path)
    source = read_source(path, DeploymentSettings)
    problems: list[Diagnostic] = []
    if not as_written:
        source, problems = resolve_values(source, DeploymentSettings, path.resolve().parent, environ)
    try:
        settings = parse_element(source, DeploymentSettings)
    except ModelError as exc:
        raise ModelError([*problems, *exc.diagnostics]) from None
    if problems:
        raise ModelError(problems)
    return settings


def _merged_source(base: SourceNode | None, override: SourceNode | None, keys: set[str]) -> SourceNode | None:
    """A source node whose overridden keys point into the settings file, the rest into the model."""
    if base is None or override is None or not isinstance(base.value, dict) or not isinstance(override.value, dict):
        return base or override
    children = dict(base.value)
    key_locations = dict(base.key_locations)
    for key in keys:
        if key in override.value:
            children[key] = override.value[key]
            key_locations[key] = override.key_location(key)
    return SourceNode(children, base.location, base.syntax, key_locations, dict(base.key_kinds))


def _merge(base: Element, override: Element, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    merged: dict[str, object] = dict(base.dump())
    for key, value in override.dump().items():
        if key in skip:
            continue
        current = merged.get(key)
        merged[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
    return merged


_TRANSPORT_ONLY = {"websocket": ("systemNumber", "routerString"), "cpic": ("websocket",)}
"""Tagged values that belong to the other transport: dropped when settings switch an alias's transport."""


def _switched_transport(merged: dict[str, object], base: SAPAlias, override: AliasOverride) -> dict[str, object]:
    """``merged`` without the model's values of the transport the settings switched away from.

    A model written for classic RFC names a system number; deployed over WebSocket RFC it has none.
    Values the settings give themselves stay (and are refused later if they do not fit).
    """
    given = override.dump()
    transport = given.get("transport")
    if transport is None or transport == base.transport:
        return merged
    return {key: value for key, value in merged.items() if key not in _TRANSPORT_ONLY[str(transport)] or key in given}


def apply_settings(model: Model, settings: DeploymentSettings) -> tuple[Model, list[Diagnostic]]:
    """The model as deployed with ``settings``, and any errors the overrides cause."""
    checker = Checker(ModelIndex(model))
    aliases = list(model.aliases)
    seen: dict[str, AliasOverride] = {}
    for override in settings.aliases:
        first = seen.setdefault(override.name, override)
        if first is not override:
            where = first.location("name")
            line = f" (first at line {where.line})" if where else ""
            checker.error(override, "name", f"alias '{override.name}' is overridden twice{line}",
                          "merge the two overrides into one")  # fmt: skip
            continue
        position = next((i for i, alias in enumerate(aliases) if alias.name == override.name), None)
        if position is None:
            checker.unknown(
                override,
                "name",
                "SAP alias",
                override.name,
                [a.name for a in model.aliases],
                "settings can only override aliases the model declares",
            )
            continue
        base = aliases[position]
        merged = SAPAlias.model_validate(
            _switched_transport(_merge(base, override, frozenset({"name"})), base, override)
        )
        merged._source = _merged_source(base.source, override.source, set(override.dump()) - {"name"})
        aliases[position] = merged
    composite = model.composite
    if settings.composite is not None:
        composite = Composite.model_validate(_merge(model.composite, settings.composite))
        composite._source = _merged_source(
            model.composite.source, settings.composite.source, set(settings.composite.dump())
        )
    _check_server(checker, settings.server)
    _check_monitor(checker, settings.monitor)
    deployed = model.model_copy(update={"aliases": aliases, "composite": composite})
    deployed._source = model.source
    return deployed, checker.diagnostics


def load_deployment(
    model_path: str | Path, settings_path: str | Path | None, environ: Mapping[str, str] | None = None
) -> LoadedModel:
    """Load a model and apply a settings file to it (its ``${ENV}`` values from ``environ``, default the process's
    environment); raise :class:`ModelError` on any error."""
    loaded = load_model(model_path)
    if settings_path is None:
        return loaded
    deployed, problems = apply_settings(loaded.model, load_settings(settings_path, environ))
    diagnostics = list(dict.fromkeys([*problems, *check_model(deployed)]))
    if any(d.is_error for d in diagnostics):
        raise ModelError(diagnostics)
    return LoadedModel(deployed, loaded.path, [d for d in diagnostics if not d.is_error])
