"""``idocbridge sim``: run the SAP simulator, inject faults, inspect what arrived."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from idocbridge.cli.console import err, out, print_diagnostics, print_json
from idocbridge.errors import IdocbridgeError

if TYPE_CHECKING:
    from idocbridge.sapsim.control_client import SimulatorControl

# The simulator (idocbridge.sapsim) and the models are imported inside the commands that use them:
# `idocbridge --help` builds these commands too, and must not load them.

__all__ = ["sim_app"]

sim_app = typer.Typer(help="The SAP simulator: a separate process with durable state, TLS, logons and faults.")

State = Annotated[Path, typer.Option("--state", "-d", help="The simulator's state folder.")]
_DEFAULT_STATE = Path(".sapsim")


def _fail(exc: Exception) -> typer.Exit:
    from idocbridge.models import ModelError  # noqa: PLC0415 - --help must not load the models

    if isinstance(exc, ModelError):
        print_diagnostics(exc.diagnostics)
    else:
        err.print(f"error: {exc}", markup=False)
    return typer.Exit(1)


@sim_app.callback(invoke_without_command=True)
def start(
    context: typer.Context,
    state: State = _DEFAULT_STATE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TLS port (0: any free port; see sim.json).")] = 8443,
    gateway_port: Annotated[
        int | None,
        typer.Option(
            help="Classic RFC port (default 33NN of the system number; 0: a free port 3300-3399, and the "
            "system number follows it; see sim.json)."
        ),
    ] = None,
    message_server_port: Annotated[
        int, typer.Option(help="HTTP port of the message server, for load balancing (0: a free port; see sim.json).")
    ] = 0,
    router_port: Annotated[
        int, typer.Option(help="Port of the SAProuter in front of the gateway (0: a free port; see sim.json).")
    ] = 0,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Simulator configuration (YAML).")] = None,
    parser_file: Annotated[
        list[Path] | None, typer.Option("--parser-file", help="IDoc type definition (WE60).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for faults with a probability.")] = 0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    """Start the simulator (when no subcommand is given). Stop it with Ctrl-C or SIGTERM."""
    if context.invoked_subcommand is not None:
        return
    from idocbridge.sapsim.runner import run_simulator  # noqa: PLC0415 - --help must not load the simulator

    try:
        run_simulator(
            state,
            host,
            port,
            config,
            parser_file or [],
            seed,
            announce=lambda line: print(line, flush=True),
            log_level=log_level,
            gateway_port=gateway_port,
            message_server_port=message_server_port,
            router_port=router_port,
        )
    except (IdocbridgeError, OSError) as exc:
        raise _fail(exc) from None


def _control(state: Path) -> SimulatorControl:
    from idocbridge.sapsim.control_client import SimulatorControl  # noqa: PLC0415 - --help must not load the simulator

    return SimulatorControl.for_state(state)


@sim_app.command()
def fault(
    kind: Annotated[
        str,
        typer.Argument(
            help="refuse_logon, refuse_connections, communication_error, drop_before, "
            "drop_after, drop_on_confirm, delay, abap_exception, posting_error, refuse_idoc"
        ),
    ],
    state: State = _DEFAULT_STATE,
    count: Annotated[int, typer.Option(help="How many matching events it hits.")] = 1,
    always: Annotated[bool, typer.Option(help="Hit every matching event until cleared.")] = False,
    function: Annotated[
        str | None, typer.Option(help="Only this function (posting_error, refuse_idoc: message type).")
    ] = None,
    probability: Annotated[float, typer.Option(help="Chance to hit each matching event.")] = 1.0,
    seconds: Annotated[float, typer.Option(help="Delay in seconds (delay).")] = 0.0,
    key: Annotated[str | None, typer.Option(help="ABAP exception key (abap_exception).")] = None,
    message: Annotated[str | None, typer.Option(help="Message text.")] = None,
) -> None:
    """Arm a fault in a running simulator."""
    settings = {
        "count": None if always else count,
        "function": function,
        "probability": probability,
        "seconds": seconds,
        "key": key,
        "message": message,
    }
    try:
        armed = _control(state).add_fault(kind, **settings)
    except (IdocbridgeError, ValueError) as exc:
        raise _fail(exc) from None
    out.print(f"armed: {json.dumps(armed)}", markup=False)


@sim_app.command()
def faults(state: State = _DEFAULT_STATE, clear: Annotated[bool, typer.Option(help="Disarm all.")] = False) -> None:
    """List (or clear) the armed faults."""
    try:
        control = _control(state)
        result = control.command("faults.clear") if clear else control.command("faults.list")
    except IdocbridgeError as exc:
        raise _fail(exc) from None
    print_json(result)


@sim_app.command()
def inspect(
    what: Annotated[str, typer.Argument(help="idocs, idoc, tids, events, counters, queue or status")],
    argument: Annotated[str | None, typer.Argument(help="DOCNUM (idoc), TID (events) or queue name.")] = None,
    state: State = _DEFAULT_STATE,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what the simulator holds: IDocs and their statuses, TIDs, events, counters."""
    commands: dict[str, tuple[str, dict[str, Any]]] = {
        "idocs": ("inspect.idocs", {}),
        "idoc": ("inspect.idoc", {"docnum": argument}),
        "tids": ("inspect.tids", {}),
        "events": ("inspect.events", {"tid": argument} if argument else {}),
        "counters": ("inspect.counters", {}),
        "queue": ("inspect.queue", {"queue": argument}),
        "status": ("status", {}),
    }
    if what not in commands:
        err.print(f"error: cannot inspect {what!r}; choose one of {', '.join(commands)}")
        raise typer.Exit(2)
    if what in ("idoc", "queue") and argument is None:
        err.print(f"error: inspect {what} needs {'a DOCNUM' if what == 'idoc' else 'a queue name'}")
        raise typer.Exit(2)
    name, arguments = commands[what]
    try:
        result = _control(state).command(name, **arguments)
    except IdocbridgeError as exc:
        raise _fail(exc) from None
    if as_json or what not in ("idocs", "tids"):
        print_json(result)
        return
    table = Table(title="IDocs" if what == "idocs" else "TIDs (executed, not confirmed)", title_justify="left")
    rows: list[dict[str, Any]] = result
    columns = (
        ["docnum", "idoctyp", "mestyp", "status", "segments", "tid"]
        if what == "idocs"
        else list(rows[0])
        if rows
        else ["tid"]
    )
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    out.print(table)


@sim_app.command()
def queue(
    action: Annotated[str, typer.Argument(help="restart or delete")],
    name: Annotated[str, typer.Argument(help="The inbound qRFC queue.")],
    state: State = _DEFAULT_STATE,
) -> None:
    """Unblock a stopped qRFC queue (SYSFAIL), as SMQ2 does: restart its failed call, or delete it; then the
    calls waiting behind it run in order."""
    if action not in ("restart", "delete"):
        err.print(f"error: cannot {action!r} a queue; choose restart or delete")
        raise typer.Exit(2)
    try:
        result = _control(state).command(f"queue.{action}", queue=name)
    except IdocbridgeError as exc:
        raise _fail(exc) from None
    print_json(result)


@sim_app.command("process-idocs")
def process_idocs(state: State = _DEFAULT_STATE) -> None:
    """Post the inbound IDocs waiting at status 64 now, as BD87 or RBDAPP01 do (with idocProcessing mode
    background; otherwise there are none waiting)."""
    try:
        result = _control(state).command("idocs.process")
    except IdocbridgeError as exc:
        raise _fail(exc) from None
    print_json(result)


@sim_app.command("issue-cert")
def issue_cert(
    name: Annotated[str, typer.Argument(help="Common name; map it to a user under 'certificates'.")],
    state: State = _DEFAULT_STATE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for NAME.pem and NAME.key.")] = None,
) -> None:
    """Sign a client certificate with the simulator's development CA (for X.509 logon)."""
    # imported here: --help must not load the simulator
    from idocbridge.sapsim.tls import ensure_pki, issue_client_certificate  # noqa: PLC0415

    certificate, key = issue_client_certificate(ensure_pki(state), name, output or state / "clients")
    out.print(f"certificate {certificate}\nkey         {key}", markup=False)
