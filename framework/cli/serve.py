"""``idocbridge serve``: serve a generated folder over HTTP(S) with uvicorn."""

from __future__ import annotations

import gc
import json
import logging
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from idocbridge.cli.console import err, out, print_diagnostics
from idocbridge.errors import IdocbridgeError

__all__ = ["serve"]

log = logging.getLogger("idocbridge.serve")


def _observe(log_level: str, log_format: str) -> None:
    """The service's log as asked, and OpenTelemetry traces where the environment names an endpoint."""
    from idocbridge import logs, tracing  # noqa: PLC0415 - --help must not load them

    try:
        logs.configure(log_level, log_format)  # type: ignore[arg-type]  # checked there
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    traced_to = tracing.configure_from_environment()
    if traced_to is not None:
        log.info("OpenTelemetry: spans of requests and SAP calls go to %s", traced_to)


def _stop(signum: int, frame: object) -> None:
    """SIGTERM once uvicorn has drained: leave through serve's ``finally``, which closes the deployment."""
    raise SystemExit(0)


_DRAIN_SECONDS = 30
"""After SIGTERM, how long requests in flight may take to be answered before their connections are closed."""


def serve(
    folder: Annotated[Path, typer.Argument(help="A folder made by idocbridge generate.")],
    settings: Annotated[Path | None, typer.Option("--settings", "-s", help="Deployment settings.")] = None,
    host: Annotated[str | None, typer.Option(help="Listen address (overrides server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (overrides server.port; 0: any free one).")] = None,
    log_level: Annotated[
        str, typer.Option(help="DEBUG, INFO (with an access line per request), WARNING or ERROR.")
    ] = "INFO",
    log_format: Annotated[str, typer.Option(help="text (for people) or json (one JSON object a line).")] = "text",
) -> None:
    """Serve the generated SOAP services (POST SOAP 1.1/1.2, GET ?wsdl and ?xsd), /health, /metrics and the web
    monitor at /monitor."""
    # imported here: --help must not load the SOAP layer, uvicorn or the models
    import uvicorn  # noqa: PLC0415

    from idocbridge.models.diagnostics import ModelError  # noqa: PLC0415
    from idocbridge.models.secrets import resolve_secret  # noqa: PLC0415
    from idocbridge.monitor.auth import resolve_monitor_passwords, why_not_served  # noqa: PLC0415
    from idocbridge.soap.app import create_app  # noqa: PLC0415
    from idocbridge.soap.deployment import load_deployment_folder  # noqa: PLC0415
    from idocbridge.soap.http_protocol import service_http_protocol  # noqa: PLC0415

    _observe(log_level, log_format)
    try:
        deployment = load_deployment_folder(folder, settings)
        server_settings = deployment.server
        password = (
            resolve_secret(server_settings.basic_auth_password).reveal()
            if server_settings.basic_auth_password
            else None
        )
        monitor_passwords = resolve_monitor_passwords(deployment.monitor)
    except ModelError as exc:
        print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    except IdocbridgeError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    for warning in deployment.warnings:
        err.print(warning, markup=False)
    address = host or server_settings.host
    listener = socket.create_server((address, server_settings.port if port is None else port), reuse_port=False)
    actual = listener.getsockname()[1]
    tls = server_settings.tls_certificate is not None and server_settings.tls_key is not None
    base = f"{'https' if tls else 'http'}://{address}:{actual}"
    info = {"url": base, "services": [f"{base}{s.contract.path}" for s in deployment.services]}
    (deployment.state / "serve.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    for served in deployment.services:
        out.print(f"serving {served.contract.name} at {base}{served.contract.path} (WSDL: ?wsdl)", markup=False)
    if why_not_served(deployment.monitor, address, server_settings.basic_auth_user) is None:
        out.print(f"the monitor: {base}/monitor/", markup=False)
    config = uvicorn.Config(
        create_app(deployment, password, monitor_passwords, address), log_config=None, log_level=log_level.lower(),
        access_log=False,
        ssl_certfile=server_settings.tls_certificate, timeout_graceful_shutdown=_DRAIN_SECONDS,
        ssl_keyfile=server_settings.tls_key, lifespan="off",
        http=service_http_protocol(server_settings.header_timeout_seconds),
        timeout_keep_alive=server_settings.idle_timeout_seconds,
        proxy_headers=False,  # forwarded headers count from trustedProxies only (soap/documents.py)
    )  # fmt: skip
    gc.freeze()  # the deployment lives as long as the process: keep the collector from walking it again and again
    deployment.start()
    log.info("serving %d service(s) at %s", len(deployment.services), base)
    # uvicorn answers SIGTERM by closing the listener and answering the requests in flight, then raises the
    # signal again under the handler it found: this one, which ends the process through the block below
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # Ctrl-C the same way
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        for stopping in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the cleanup short
            signal.signal(stopping, signal.SIG_IGN)
        log.info("stopping: the requests in flight are answered; finishing the outbox's deliveries in progress")
        deployment.close()
        (deployment.state / "serve.json").unlink(missing_ok=True)
        log.info("stopped: every delivery in progress finished or left to its lease, this instance's leases released")
