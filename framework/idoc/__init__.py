"""IDoc documents: records, segment metadata, parser files, validation."""

from __future__ import annotations

from idocbridge.idoc.errors import DuplicateIDocTypeError, ParserFileError, UnknownIDocTypeError
from idocbridge.idoc.metadata import (
    FieldDefinition,
    GroupDefinition,
    IDocType,
    Node,
    SegmentDefinition,
    split_definition_name,
)
from idocbridge.idoc.parser_file import parse_parser_text, read_parser_file
from idocbridge.idoc.problems import IDocProblem, Rule
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.idoc.txtraw import TXTRAW01, TXTRAW_MESSAGE_TYPE, txtraw_records
from idocbridge.idoc.validation import validate_idoc

__all__ = [
    "TXTRAW01",
    "TXTRAW_MESSAGE_TYPE",
    "DuplicateIDocTypeError",
    "FieldDefinition",
    "GroupDefinition",
    "IDocProblem",
    "IDocType",
    "IDocTypeRegistry",
    "Node",
    "ParserFileError",
    "Rule",
    "SegmentDefinition",
    "UnknownIDocTypeError",
    "parse_parser_text",
    "read_parser_file",
    "split_definition_name",
    "txtraw_records",
    "validate_idoc",
]
