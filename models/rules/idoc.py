"""IDoc inputs and IDoc types: an operation takes a structure or an IDoc, its IDoc type is declared,
and every declared IDoc type has a readable parser file that defines it.

Parser files are resolved against the directory of the model file (the current directory for a model
built in Python) and each is read once per check.
"""

from __future__ import annotations

from pathlib import Path

from idocbridge.idoc.errors import ParserFileError
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.parser_file import read_parser_file
from idocbridge.idoc.txtraw import TXTRAW01
from idocbridge.models.idoc_types import IDocTypeSource
from idocbridge.models.rules.context import Checker
from idocbridge.models.services import Operation

__all__ = ["check"]

_WE60 = "export it again with transaction WE60 (Documentation > Parser)"


def check(checker: Checker) -> None:
    model = checker.index.model
    declared = {source.name: source for source in reversed(model.idoc_types)}  # the first one wins
    for service in model.services:
        for port in service.port_types:
            for operation in port.operations:
                _check_operation(checker, operation, sorted(declared))
    if model.idoc_types:
        _check_sources(checker, [source for source in model.idoc_types if declared[source.name] is source])


def _check_operation(checker: Checker, operation: Operation, declared: list[str]) -> None:
    idoc = operation.idoc
    if idoc is None:
        return
    if operation.input is not None:
        checker.error(
            operation,
            "idoc",
            f"operation '{operation.name}' declares both an input and an idoc input",
            "drop one: input for a request structure, idoc for a request that is one IDoc document "
            "(the activity sees it as input.controlRecord and input.dataRecords)",
            at_key=True,
        )
    if idoc.type is not None and idoc.type not in declared and idoc.type != TXTRAW01.name:
        suggestion = checker.index.suggest(idoc.type, sorted({*declared, TXTRAW01.name}))
        close = f"did you mean '{suggestion}'? " if suggestion else ""
        if declared:
            hint = f"{close}the model declares the IDoc types {', '.join(declared)}; {TXTRAW01.name} is built in"
        else:
            hint = (
                f"{close}declare it: idocTypes: - name: {idoc.type}, parserFile: {idoc.type}.txt "
                f"(its WE60 parser file); only {TXTRAW01.name} is built in"
            )
        checker.error(
            idoc,
            "type",
            f"IDoc type '{idoc.type}' of operation '{operation.name}' is not declared under idocTypes",
            hint,
        )


def _check_sources(checker: Checker, sources: list[IDocTypeSource]) -> None:
    read: dict[Path, IDocType | ParserFileError] = {}
    for source in sources:
        path = source.parser_path()
        if path not in read:
            try:
                read[path] = read_parser_file(path)
            except ParserFileError as exc:
                read[path] = exc
        result = read[path]
        if isinstance(result, ParserFileError):
            _report_damage(checker, source, path, result)
        else:
            _check_defines(checker, source, path, result)


def _report_damage(checker: Checker, source: IDocTypeSource, path: Path, error: ParserFileError) -> None:
    if error.line is None:
        checker.error(
            source,
            "parser_file",
            f"the parser file of IDoc type '{source.name}' cannot be read: {path}: {error.detail}",
            "parserFile is relative to the directory of the model file",
        )
        return
    checker.error(
        source,
        "parser_file",
        f"the parser file of IDoc type '{source.name}' is damaged: {path.name}, line {error.line}: {error.detail}",
        f"{_WE60}, or correct line {error.line}",
    )


def _check_defines(checker: Checker, source: IDocTypeSource, path: Path, idoc_type: IDocType) -> None:
    defined = idoc_type.extension or idoc_type.name
    if defined == source.name:
        return
    if idoc_type.extension is not None and idoc_type.name == source.name:
        hint = f"name an extended type by its extension: name: {idoc_type.extension}"
    else:
        hint = f"write name: {defined}, or point parserFile at the parser file of {source.name}"
    checker.error(
        source,
        "name",
        f"IDoc type '{source.name}' is read from {path.name}, which defines {idoc_type.label}",
        hint,
    )
