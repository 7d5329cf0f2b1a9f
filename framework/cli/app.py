"""The ``idocbridge`` command."""

from __future__ import annotations

import gc
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from idocbridge import __version__
from idocbridge.cli.console import err, out, print_diagnostics
from idocbridge.cli.db import db_app
from idocbridge.cli.idoc import idoc_app
from idocbridge.cli.log import log_app
from idocbridge.cli.send import send
from idocbridge.cli.serve import serve
from idocbridge.cli.sim import sim_app
from idocbridge.cli.tx import tx_app

if TYPE_CHECKING:
    from idocbridge.models import DeploymentSettings, Model

# Every command module imports what its work needs (models, IDocs, database, zeep, simulator, SOAP layer)
# inside the functions that do the work: typer builds every command, with its options and help, at each
# start, so anything imported at the top of a command module is paid for by `idocbridge --help` as well.

__all__ = ["app", "main"]

app = typer.Typer(
    name="idocbridge",
    help="Model-driven SOAP services that deliver IDocs to SAP exactly once over tRFC.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion and --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
)
app.add_typer(sim_app, name="sim")
app.add_typer(log_app, name="log")
app.add_typer(tx_app, name="tx")
app.add_typer(idoc_app, name="idoc")
app.add_typer(db_app, name="db")
app.command()(serve)
app.command()(send)


def _version(value: bool) -> None:
    if value:
        out.print(f"idocbridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """idocbridge: author models, generate services, send IDocs, review the transaction log."""


@app.command()
def validate(
    models: Annotated[list[Path], typer.Argument(help="Model files (*.yaml, *.yml, *.xml).")],
    settings: Annotated[Path | None, typer.Option("--settings", "-s", help="Deployment settings to apply.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and warnings.")] = False,
) -> None:
    """Check models; list every error as file:line:column with a hint, and summarise valid ones."""
    if settings is not None and len(models) > 1:
        err.print("error: --settings applies to one model; validate the models one at a time")
        raise typer.Exit(2)
    # imported here: --help must not load the models
    from idocbridge.cli.summary import render_summary  # noqa: PLC0415
    from idocbridge.models import ModelError, load_deployment, load_model  # noqa: PLC0415

    failed = 0
    for path in models:
        try:
            loaded = load_deployment(path, settings) if settings is not None else load_model(path)
            if settings is not None:
                _check_connections(loaded.model, settings)
        except ModelError as exc:
            failed += 1
            print_diagnostics(exc.diagnostics)
            errors = sum(1 for d in exc.diagnostics if d.is_error)
            err.print(f"{path}: {errors} error(s)", markup=False)
            continue
        print_diagnostics(loaded.warnings)
        if not quiet:
            render_summary(loaded.model, str(path) + (f" + {settings}" if settings else ""), out)
            out.print()
    if failed:
        raise typer.Exit(1)
    if quiet:
        out.print(f"{len(models)} model(s) valid")


def _check_connections(model: Model, settings: Path) -> None:
    """What ``serve`` checks before it starts: every alias can connect as configured (secrets readable,
    options its connector takes); ModelError naming each alias that cannot."""
    from idocbridge.connectors.configuration_check import connection_problems  # noqa: PLC0415 - as above
    from idocbridge.models import ModelError, load_settings  # noqa: PLC0415
    from idocbridge.models.diagnostics import Diagnostic, Severity  # noqa: PLC0415

    server = load_settings(settings).server
    accept = server.accept_unchecked_rfc_library if server is not None else False
    aliases = {alias.name: alias for alias in model.aliases}
    problems = []
    for name, problem in connection_problems(model, accept_unchecked_rfc_library=accept):
        source = aliases[name].source
        where = source.location if source is not None else None
        message = f"SAP alias '{name}' cannot connect as configured: {problem}"
        hint = "serve would refuse to start: set what it names where the service runs"
        problems.append(Diagnostic(Severity.ERROR, where, message, hint))
    if problems:
        raise ModelError(problems)


class Kind(StrEnum):
    model = "model"
    settings = "settings"


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="A model or settings file, YAML or XML.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here; the extension picks the syntax.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="yaml or xml, when writing to standard output.")] = None,
    kind: Annotated[Kind, typer.Option("--kind", help="What the file holds.")] = Kind.model,
) -> None:
    """Convert between the YAML and XML syntaxes; converting back gives the same model."""
    # imported here: --help must not load the models
    from idocbridge.models import ModelError, load_model, load_settings, syntax_of, write_xml  # noqa: PLC0415
    from idocbridge.models.yaml_io import dump_yaml  # noqa: PLC0415

    try:
        element: Model | DeploymentSettings = (
            load_model(source).model if kind is Kind.model else load_settings(source, as_written=True)
        )
        target = syntax_of(output) if output is not None else to
    except ModelError as exc:
        print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    if target not in ("yaml", "xml"):
        err.print("error: say the target syntax with --output FILE.yaml|FILE.xml or --to yaml|xml")
        raise typer.Exit(2)
    header = f"Converted from {source.name} by idocbridge convert."
    text = dump_yaml(element.dump(), header) if target == "yaml" else write_xml(element)
    if output is None:
        out.file.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"error: cannot write {output}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None
    err.print(f"wrote {output}", markup=False)


@app.command()
def generate(
    model: Annotated[Path, typer.Argument(help="The model (*.yaml, *.yml, *.xml).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the generated services.")],
) -> None:
    """Generate WSDL, XSD and Python for every SOAP service of a model (hooks.py is never overwritten)."""
    # imported here: --help must not load the generators or the models
    from idocbridge.generators.generate import generate as generate_services  # noqa: PLC0415
    from idocbridge.models import ModelError, load_model  # noqa: PLC0415

    try:
        loaded = load_model(model)
    except ModelError as exc:
        print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None
    print_diagnostics(loaded.warnings)
    try:
        written = generate_services(loaded.model, model.name, output)
    except OSError as exc:
        err.print(f"error: cannot write {exc.filename or output}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"generated {len(written)} files for {len(loaded.model.services)} service(s) in {output}", markup=False)


@app.command()
def demo(
    model: Annotated[Path, typer.Option(help="The model to demonstrate.")] = Path("examples/trfc_client/model.yaml"),
    keep: Annotated[Path | None, typer.Option(help="Keep the state, code and log in this folder.")] = None,
) -> None:
    """Start the simulator, generate and serve the example, send IDocs with zeep, show what arrived."""
    # imported here: --help must not load zeep, the simulator, the SOAP layer or the models
    from idocbridge.cli.demo import run_demo  # noqa: PLC0415
    from idocbridge.models import ModelError  # noqa: PLC0415

    try:
        run_demo(model, out, keep)
    except ModelError as exc:
        print_diagnostics(exc.diagnostics)
        raise typer.Exit(1) from None


@app.command()
def schema(
    directory: Annotated[Path, typer.Argument(help="Folder to write the schemas into.")],
) -> None:
    """Write JSON Schemas (YAML editors) and XSDs (XML editors) for models and settings."""
    # imported here: --help must not load the models
    from idocbridge.models import DeploymentSettings, Model, json_schema, xml_schema  # noqa: PLC0415

    try:
        directory.mkdir(parents=True, exist_ok=True)
        for root, stem in ((Model, "model"), (DeploymentSettings, "settings")):
            (directory / f"{stem}.schema.json").write_text(json_schema(root), encoding="utf-8")
            (directory / f"{stem}.xsd").write_text(xml_schema(root), encoding="utf-8")
    except OSError as exc:
        err.print(f"error: cannot write {exc.filename or directory}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None
    out.print(f"wrote model.schema.json, model.xsd, settings.schema.json and settings.xsd to {directory}", markup=False)


def main() -> None:
    """Entry point of the ``idocbridge`` console script.

    What the imports made (modules, classes, schemas: hundreds of thousands of objects that live as long as
    the process) is moved out of the cyclic garbage collector's sight first (``gc.freeze``): otherwise every
    full collection walks all of it again, which doubled the time to convert a large IDoc. The commands
    import their heavy packages when they run, after this: those make far fewer objects (about 20,000 for
    ``idoc convert``, against 140,000 when every command's imports were made here), and ``serve`` freezes
    again once its deployment is loaded.
    """
    gc.freeze()
    app()
