"""IDoc documents: records, flat files, IDoc-XML, JSON, segment metadata, parser files, validation.

An IDoc is either *records* (:class:`IDocRecords`: the control record and data records, as flat files
and IDOC_INBOUND_ASYNCHRONOUS hold them) or a *document* (:class:`IDoc`: a tree of segments with named
field values, as IDoc-XML and JSON hold it). :func:`idoc_to_records` and :func:`records_to_idoc` convert
between the two with the IDoc type's metadata (:class:`IDocType`).
"""

from __future__ import annotations

from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.errors import (
    DuplicateIDocTypeError,
    ParserFileError,
    RemoteMetadataError,
    UnknownIDocTypeError,
)
from idocbridge.idoc.flat import FlatFileError, iter_flat_file, read_flat_lines, write_flat_idoc
from idocbridge.idoc.idoc_json import IDocJsonError, idoc_from_json, idoc_to_json, write_idoc_json
from idocbridge.idoc.idoc_xml import (
    IDocXmlError,
    check_idoc_document,
    idoc_from_element,
    idoc_to_element,
    iter_idoc_xml,
    write_idoc_xml,
)
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
from idocbridge.idoc.records import CONTROL_RECORD, DATA_RECORD, RecordError, format_record, parse_record
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.idoc.remote import IDocTypeCache, read_idoc_type
from idocbridge.idoc.tables import IDocConversionError, IDocRecords, idoc_to_records, records_to_idoc
from idocbridge.idoc.txtraw import TXTRAW01, TXTRAW_MESSAGE_TYPE, txtraw_records
from idocbridge.idoc.validation import validate_control_record, validate_idoc
from idocbridge.idoc.xsd import idoc_types_schema, idoc_xsd

__all__ = [
    "CONTROL_RECORD",
    "DATA_RECORD",
    "TXTRAW01",
    "TXTRAW_MESSAGE_TYPE",
    "DuplicateIDocTypeError",
    "FieldDefinition",
    "FlatFileError",
    "GroupDefinition",
    "IDoc",
    "IDocConversionError",
    "IDocJsonError",
    "IDocProblem",
    "IDocRecords",
    "IDocType",
    "IDocTypeCache",
    "IDocTypeRegistry",
    "IDocXmlError",
    "Node",
    "ParserFileError",
    "RecordError",
    "RemoteMetadataError",
    "Rule",
    "Segment",
    "SegmentDefinition",
    "UnknownIDocTypeError",
    "check_idoc_document",
    "format_record",
    "idoc_from_element",
    "idoc_from_json",
    "idoc_to_element",
    "idoc_to_json",
    "idoc_to_records",
    "idoc_types_schema",
    "idoc_xsd",
    "iter_flat_file",
    "iter_idoc_xml",
    "parse_parser_text",
    "parse_record",
    "read_flat_lines",
    "read_idoc_type",
    "read_parser_file",
    "records_to_idoc",
    "split_definition_name",
    "txtraw_records",
    "validate_control_record",
    "validate_idoc",
    "write_flat_idoc",
    "write_idoc_json",
    "write_idoc_xml",
]
