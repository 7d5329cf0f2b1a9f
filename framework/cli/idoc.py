"""``idocbridge idoc``: convert IDoc files between flat, IDoc-XML and JSON, validate them, print schemas."""

from __future__ import annotations

import codecs
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from idocbridge.cli.console import err, out
from idocbridge.errors import IdocbridgeError

if TYPE_CHECKING:
    from idocbridge.connectors.base import Connector
    from idocbridge.idoc.document import IDoc
    from idocbridge.idoc.files import IDocFileFormat, MetadataResolver
    from idocbridge.idoc.metadata import IDocType
    from idocbridge.idoc.problems import IDocProblem
    from idocbridge.idoc.tables import IDocRecords

# The IDoc package (which loads the models), the connectors and the models are imported inside the
# functions that use them: `idocbridge --help` builds these commands too, and must not load them.

__all__ = ["idoc_app"]

idoc_app = typer.Typer(help="IDoc files: convert between flat, IDoc-XML and JSON; validate; print XML schemas.")


class Target(StrEnum):
    xml = "xml"
    flat = "flat"
    json = "json"


class Source(StrEnum):
    auto = "auto"
    xml = "xml"
    flat = "flat"
    json = "json"


class LineEnd(StrEnum):
    crlf = "crlf"
    lf = "lf"


class Segnam(StrEnum):
    definition = "definition"
    type = "type"


class Padding(StrEnum):
    Never = "Never"
    Mixed = "Mixed"
    Always = "Always"


Metadata = Annotated[
    list[Path] | None,
    typer.Option("--metadata", "-m", help="A parser file (WE60) with the IDoc type's metadata; repeatable."),
]
Alias = Annotated[
    str | None, typer.Option("--alias", help="Read metadata from SAP (IDOCTYPE_READ_COMPLETE) through this alias.")
]
ModelFile = Annotated[Path | None, typer.Option("--model", help="The model that declares --alias.")]
Settings = Annotated[Path | None, typer.Option("--settings", "-s", help="Deployment settings for --alias.")]
Encoding = Annotated[str, typer.Option("--encoding", help="Code page of flat input files (e.g. cp1252).")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")]
FromFormat = Annotated[Source, typer.Option("--from", help="Input format; auto recognises it.")]


class _Resolver:
    """Metadata from parser files, else from SAP through an alias (each type read once)."""

    def __init__(self, parser_files: list[Path], alias: str | None, model: Path | None, settings: Path | None):
        from idocbridge.idoc.registry import IDocTypeRegistry  # noqa: PLC0415 - --help must not load the IDoc package

        self.registry = IDocTypeRegistry()
        self.registry.load_parser_files(parser_files)
        self.alias = alias
        self.model = model
        self.settings = settings
        self.read: dict[tuple[str, str | None], IDocType] = {}
        self.stack = ExitStack()

    def __call__(self, basic: str, extension: str | None) -> IDocType:
        # imported here: --help must not load the IDoc package
        from idocbridge.idoc.errors import UnknownIDocTypeError  # noqa: PLC0415
        from idocbridge.idoc.remote import read_idoc_type  # noqa: PLC0415

        try:
            return self.registry.get(basic, extension)
        except UnknownIDocTypeError:
            if self.alias is None:
                raise UnknownIDocTypeError(
                    f"no metadata for IDoc type {extension or basic}: give its parser file with --metadata, or "
                    "read it from SAP with --alias NAME --model MODEL"
                ) from None
        key = (basic, extension)
        if key not in self.read:
            self.read[key] = read_idoc_type(self._connection(), basic, extension, system=self.alias)
        return self.read[key]

    def _connection(self) -> Connector:
        # imported here: --help must not load the connectors or the models
        from idocbridge.connectors.factory import connector_factory  # noqa: PLC0415
        from idocbridge.models import load_deployment  # noqa: PLC0415

        if self.model is None:
            raise IdocbridgeError("--alias needs --model: the model that declares the alias")
        model = load_deployment(self.model, self.settings).model
        alias = model.alias(self.alias or "")
        if alias is None:
            known = ", ".join(a.name for a in model.aliases) or "none"
            raise IdocbridgeError(f"the model has no SAP alias {self.alias}; its aliases: {known}")
        connector = connector_factory(None)(alias)
        connector.open()
        self.stack.callback(connector.close)
        return connector


def _resolver(metadata: list[Path] | None, alias: str | None, model: Path | None, settings: Path | None) -> _Resolver:
    """The resolver, with every --metadata file read; a file that cannot be read ends the command."""
    try:
        return _Resolver(list(metadata or []), alias, model, settings)
    except IdocbridgeError as exc:
        raise _fail(str(exc)) from None


def _codec(encoding: str, option: str, *, flat_input: bool = False) -> str:
    """The codec an encoding option names; an unknown one, or one flat files cannot be in, ends the command."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise _fail(
            f"unknown encoding '{encoding}' ({option}): give a code page such as utf-8, cp1252 or iso8859-15"
        ) from None
    if flat_input and "EDI_DC40\n".encode(name, errors="replace") != b"EDI_DC40\n":
        raise _fail(f"{option} {encoding} cannot read flat IDoc files: they are in an ASCII-based code page such as "
                    "utf-8 or cp1252")  # fmt: skip
    return name


def _format(path: Path, given: Source) -> IDocFileFormat:
    from idocbridge.idoc.files import detect_format  # noqa: PLC0415 - --help must not load the IDoc package

    if given is not Source.auto:
        return given.value  # type: ignore[return-value]
    try:
        return detect_format(path)
    except OSError as exc:
        raise IdocbridgeError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


@idoc_app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="The IDoc file (flat, IDoc-XML or JSON).", exists=True, dir_okay=False)],
    to: Annotated[Target, typer.Option("--to", help="The format to write.")],
    output: Output = None,
    metadata: Metadata = None,
    alias: Alias = None,
    model: ModelFile = None,
    settings: Settings = None,
    source: FromFormat = Source.auto,
    encoding: Encoding = "utf-8",
    output_encoding: Annotated[str, typer.Option(help="Code page of a flat output file.")] = "utf-8",
    newline: Annotated[LineEnd, typer.Option(help="Line ends of a flat output file.")] = LineEnd.crlf,
    segnam: Annotated[
        Segnam | None,
        typer.Option(
            help="SEGNAM in flat output: definition (E2EDK01005) or type; default: definition, or as in a flat input."
        ),
    ] = None,
    padding: Annotated[Padding, typer.Option(help="SAP value padding of field values (see docs/idocs.md).")] = (
        Padding.Never
    ),
    full_width: Annotated[bool, typer.Option(help="Pad flat records to 524/1063 characters.")] = False,
) -> None:
    """Convert an IDoc file; IDocs are read and written one at a time, so files of any size convert."""
    # imported here: --help must not load the IDoc package
    from idocbridge.idoc.files import iter_records, write_converted, write_records  # noqa: PLC0415

    encoding = _codec(encoding, "--encoding", flat_input=True)
    output_codec = _codec(output_encoding, "--output-encoding")
    resolve = _resolver(metadata, alias, model, settings)
    started = time.monotonic()
    try:
        file_format = _format(file, source)
        with resolve.stack, _open_output(output) as stream:
            if to is Target.flat:
                records = iter_records(file, file_format, resolve, encoding, segnam=segnam.value if segnam else None,
                                       padding=padding.value)  # fmt: skip
                count = write_records(stream, records, encoding=output_codec,
                                      newline="\r\n" if newline is LineEnd.crlf else "\n",
                                      full_width=full_width or padding is Padding.Always)  # fmt: skip
            else:
                count = write_converted(stream, file, file_format, to.value, resolve, encoding)  # type: ignore[arg-type]
    except (IdocbridgeError, OSError, UnicodeEncodeError) as exc:
        if output is not None and not output.is_dir():
            output.unlink(missing_ok=True)
        if isinstance(exc, UnicodeEncodeError):
            shown = repr(exc.object[exc.start : exc.end])
            raise _fail(f"{shown} cannot be written in {output_encoding}: choose another --output-encoding") from None
        if isinstance(exc, OSError):
            raise _fail(f"{exc.filename or file}: {exc.strerror or exc}") from None
        raise _fail(str(exc)) from None
    elapsed = time.monotonic() - started
    size = file.stat().st_size / 1e6
    err.print(
        f"converted {count} IDoc(s) from {file_format} to {to.value}: {size:.1f} MB in {elapsed:.3f} s", markup=False
    )


@contextmanager
def _open_output(path: Path | None) -> Iterator[IO[bytes]]:
    """The output file, or standard output (flushed, not closed) when there is no path."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as handle:
        yield handle


@idoc_app.command()
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="IDoc files (flat, IDoc-XML or JSON).", exists=True, dir_okay=False)
    ],
    metadata: Metadata = None,
    alias: Alias = None,
    model: ModelFile = None,
    settings: Settings = None,
    source: FromFormat = Source.auto,
    encoding: Encoding = "utf-8",
) -> None:
    """Check IDocs against their metadata as SAP's inbound would; list every problem, exit 1 if any."""
    encoding = _codec(encoding, "--encoding", flat_input=True)
    resolve = _resolver(metadata, alias, model, settings)
    failed = total = 0
    with resolve.stack:
        for path in files:
            try:
                for number, (label, problems) in enumerate(
                    _check_file(path, _format(path, source), resolve, encoding), 1
                ):
                    total += 1
                    if problems:
                        failed += 1
                        for problem in problems:
                            err.print(f"{path}: IDoc {number} ({label}): {problem.message}", markup=False)
                    else:
                        out.print(f"{path}: IDoc {number} ({label}): valid", markup=False)
            except (IdocbridgeError, OSError) as exc:
                failed += 1
                shown = f"cannot read the file: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
                err.print(f"{path}: error: {shown}", markup=False)
    out.print(f"{total} IDoc(s) checked, {failed} with problems", markup=False)
    if failed:
        raise typer.Exit(1)


def _check_file(
    path: Path, file_format: IDocFileFormat, resolve: MetadataResolver, encoding: str
) -> Iterator[tuple[str, list[IDocProblem]]]:
    # imported here: --help must not load the IDoc package
    from idocbridge.idoc.files import iter_documents, iter_records  # noqa: PLC0415

    if file_format == "flat":
        for records in iter_records(path, "flat", encoding=encoding):
            yield _label(records.control), _check_records(records, resolve)
        return
    for idoc in iter_documents(path, file_format):
        yield _label(idoc.control), _check_document(idoc, resolve)


def _label(control: dict[str, str]) -> str:
    kind = control.get("CIMTYP") or control.get("IDOCTYP") or "no IDOCTYP"
    return f"{kind}, DOCNUM {control['DOCNUM']}" if control.get("DOCNUM") else kind


def _check_records(records: IDocRecords, resolve: MetadataResolver) -> list[IDocProblem]:
    # imported here: --help must not load the IDoc package
    from idocbridge.idoc.validation import validate_control_record, validate_idoc  # noqa: PLC0415

    idoc_type = resolve(records.control.get("IDOCTYP", ""), records.control.get("CIMTYP") or None)
    return [*validate_control_record(records.control), *validate_idoc(idoc_type, records.data)]


def _check_document(idoc: IDoc, resolve: MetadataResolver) -> list[IDocProblem]:
    # imported here: --help must not load the IDoc package
    from idocbridge.idoc.tables import IDocConversionError, idoc_to_records  # noqa: PLC0415
    from idocbridge.idoc.validation import validate_control_record, validate_idoc  # noqa: PLC0415

    idoc_type = resolve(idoc.basic_type, idoc.extension)
    control = validate_control_record(idoc.control)
    try:
        records = idoc_to_records(idoc, idoc_type)
    except IDocConversionError as exc:
        return [*control, *exc.problems]
    return [*control, *validate_idoc(idoc_type, records.data)]


@idoc_app.command()
def xsd(
    idoc_type: Annotated[str, typer.Argument(help="Basic type (ORDERS05) or extension.")],
    output: Output = None,
    metadata: Metadata = None,
    alias: Alias = None,
    model: ModelFile = None,
    settings: Settings = None,
) -> None:
    """Print the XML schema of an IDoc type's IDoc-XML."""
    from idocbridge.idoc.xsd import idoc_xsd  # noqa: PLC0415 - --help must not load the IDoc package

    resolve = _resolver(metadata, alias, model, settings)
    try:
        with resolve.stack:
            text = idoc_xsd(resolve(idoc_type, None))
    except IdocbridgeError as exc:
        raise _fail(str(exc)) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
