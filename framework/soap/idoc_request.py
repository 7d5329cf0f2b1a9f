"""Requests of operations that take an IDoc document: from IDoc-XML or a flat IDoc to the records SAP gets.

The request element holds the IDoc-XML document (``<ORDERS05><IDOC BEGIN="1">...``) or, for flat IDocs,
one ``flatIDoc`` element with the file's text; either may carry many IDocs. The reader turns each into
the built-in structure IDocRecords (``controlRecord``, ``dataRecords``) the activity maps, and refuses
with a SOAP fault a person can act on what SAP would reject: the wrong IDoc type, an unknown segment or
field, a value too long, segments out of order or too many or too few, a NUMC that is not numeric.
Every problem is listed, each naming the segment number, the segment, the field and the rule (and, in
a request of many IDocs, the IDoc's number there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lxml import etree

from idocbridge.connectors.errors import ConnectorError
from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc
from idocbridge.idoc.flat import FlatFileError, read_flat_lines
from idocbridge.idoc.idoc_xml import IDocXmlError, check_idoc_document, idoc_from_element
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.problems import IDocProblem
from idocbridge.idoc.records import RecordError
from idocbridge.idoc.tables import IDocConversionError, IDocRecords, idoc_to_records, records_to_idoc
from idocbridge.idoc.validation import validate_control_record, validate_idoc
from idocbridge.padding import ValuePadding
from idocbridge.soap.contract import OperationContract
from idocbridge.soap.faults import SoapFault

__all__ = ["FLAT_IDOC_ELEMENT", "MAX_IDOCS_PER_REQUEST", "IDocRequestReader", "MetadataLookup"]

FLAT_IDOC_ELEMENT = "flatIDoc"
"""The element of a flat-IDoc operation's request that holds the file's text."""

MAX_IDOCS_PER_REQUEST = 1000
"""IDocs one request may carry: they are accepted in one database transaction, and answered together."""

MetadataLookup = Callable[[str, str | None, str | None], IDocType]
"""Finds the metadata of (basic type, extension), from the model or else through the alias given;
raises an IdocbridgeError naming what went wrong."""


class IDocRequestReader:
    """Reads the IDocs of a request for one service: metadata from ``lookup``, values padded as the composite says."""

    def __init__(self, lookup: MetadataLookup, padding: ValuePadding) -> None:
        self._lookup = lookup
        self._padding = padding

    def read(self, payload: etree._Element, operation: OperationContract, namespace: str) -> list[dict[str, Any]]:
        """The IDocRecords values of each IDoc of the request element ``payload``, in order.

        Raises :class:`SoapFault` (client) when the request holds no IDoc or more than
        :data:`MAX_IDOCS_PER_REQUEST`, or when any IDoc would be refused; then the fault lists the
        problems of every IDoc, each named by its number in the request, and nothing is kept."""
        flat = operation.idoc_format == "flat"
        documents: list[IDoc | IDocRecords] = [
            *(self._flat(payload, operation, namespace) if flat else self._xml(payload, operation))
        ]
        if not documents:
            raise SoapFault(f"the {operation.name} request holds no IDoc")
        if len(documents) > MAX_IDOCS_PER_REQUEST:
            raise _too_many(operation, len(documents))
        if len(documents) == 1:
            return [self._records(documents[0], operation, {})]
        values: list[dict[str, Any]] = []
        refused: list[tuple[int, SoapFault]] = []
        types: dict[tuple[str, str], IDocType | SoapFault] = {}  # SAP is asked once per type, whatever it answers
        for number, document in enumerate(documents, start=1):
            try:
                values.append(self._records(document, operation, types))
            except SoapFault as fault:
                if fault.side == "server":  # SAP could not be asked: the request may be sent again as it is
                    fault.reason = f"IDoc {number} of {len(documents)}: {fault.reason}"
                    raise
                refused.append((number, fault))
        if refused:
            raise _refused_idocs(operation, len(documents), refused)
        return values

    def _records(self, document: IDoc | IDocRecords, operation: OperationContract,
                 types: dict[tuple[str, str], IDocType | SoapFault]) -> dict[str, Any]:  # fmt: skip
        """The IDocRecords values of one IDoc, checked as SAP would check it; ``types`` remembers the
        metadata (or the fault) of each IDoc type of the request."""
        if isinstance(document, IDocRecords):
            idoc_type = self._known(operation, document.control, types)
            try:
                idoc = records_to_idoc(document, idoc_type)
            except IDocConversionError as exc:
                raise _refused(operation, idoc_type, exc.problems) from None
        else:
            idoc = document
            idoc_type = self._known(operation, idoc.control, types)
        control_problems = validate_control_record(idoc.control)
        try:
            result = idoc_to_records(idoc, idoc_type, padding=self._padding)
        except IDocConversionError as exc:
            raise _refused(operation, idoc_type, [*control_problems, *exc.problems]) from None
        problems = [*control_problems, *validate_idoc(idoc_type, result.data)]
        if problems:
            raise _refused(operation, idoc_type, problems)
        result.control.setdefault("TABNAM", "EDI_DC40")
        return {"controlRecord": result.control, "dataRecords": result.data}

    def _xml(self, payload: etree._Element, operation: OperationContract) -> list[IDoc]:
        documents = [child for child in payload if isinstance(child.tag, str)]
        if len(documents) != 1:
            raise SoapFault(f"the {operation.name} request must hold one IDoc-XML document, found {len(documents)}")
        document = documents[0]
        root_name = etree.QName(document).localname
        if etree.QName(document).namespace is not None:
            raise SoapFault(f"the IDoc-XML document <{root_name}> must have no namespace (IDoc-XML has none)")
        try:
            idocs = check_idoc_document(document, f"the {operation.name} request")
        except IDocXmlError as exc:
            raise SoapFault(str(exc)) from None
        if len(idocs) > MAX_IDOCS_PER_REQUEST:
            raise _too_many(operation, len(idocs))
        read = []
        for number, element in enumerate(idocs, start=1):
            where = f"the {operation.name} request" + (f", IDoc {number}" if len(idocs) > 1 else "")
            try:
                read.append(idoc_from_element(element, root_name, where))
            except IDocXmlError as exc:
                raise SoapFault(str(exc)) from None
        return read

    def _flat(self, payload: etree._Element, operation: OperationContract, namespace: str) -> list[IDocRecords]:
        element = payload.find(f"{{{namespace}}}{FLAT_IDOC_ELEMENT}")
        text = element.text if element is not None and element.text else ""
        try:
            return list(read_flat_lines(text.splitlines(), f"the {operation.name} request's {FLAT_IDOC_ELEMENT}"))
        except (FlatFileError, RecordError) as exc:
            raise SoapFault(str(exc)) from None

    def _known(self, operation: OperationContract, control: dict[str, str],
               types: dict[tuple[str, str], IDocType | SoapFault]) -> IDocType:  # fmt: skip
        """:meth:`_metadata`, once per IDoc type of the request."""
        key = (control.get("IDOCTYP", ""), control.get("CIMTYP", ""))
        if key not in types:
            try:
                types[key] = self._metadata(operation, control)
            except SoapFault as fault:
                types[key] = fault
        found = types[key]
        if isinstance(found, SoapFault):
            raise replace(found, errors=list(found.errors))
        return found

    def _metadata(self, operation: OperationContract, control: dict[str, str]) -> IDocType:
        basic, extension = control.get("IDOCTYP", ""), control.get("CIMTYP") or None
        if not basic:
            raise SoapFault("the IDoc's control record has no basic type (IDOCTYP)")
        label = extension or basic
        if operation.idoc_type is not None and label != operation.idoc_type:
            what = f"extension {extension}" if extension else f"basic type {basic}"
            raise SoapFault(f"operation {operation.name} takes IDocs of type {operation.idoc_type}, not of {what}")
        try:
            return self._lookup(basic, extension, operation.idoc_alias)
        except ConnectorError as exc:
            retry = "; temporary: try again later" if exc.retryable else ""
            raise SoapFault(f"SAP could not be reached to read the metadata of IDoc type {label} ({exc.key}{retry})",
                            "server", key=exc.key) from exc  # fmt: skip
        except IdocbridgeError as exc:
            raise SoapFault(f"the metadata of IDoc type {label} cannot be found: {exc}") from None


def _too_many(operation: OperationContract, count: int) -> SoapFault:
    return SoapFault(f"the {operation.name} request holds {count} IDocs; a request takes at most "
                     f"{MAX_IDOCS_PER_REQUEST} (idocbridge send --per-request sets how many go in one)")  # fmt: skip


def _refused_idocs(operation: OperationContract, count: int, refused: list[tuple[int, SoapFault]]) -> SoapFault:
    """One fault for the IDocs of a request that would be refused: each problem named by its IDoc's number."""
    first_number, first = refused[0]
    errors = [f"IDoc {number}: {error}" for number, fault in refused for error in (fault.errors or [fault.reason])]
    return SoapFault(f"{len(refused)} of the {count} IDocs of the {operation.name} request would be refused, so none "
                     f"was accepted; IDoc {first_number}: {first.reason}", errors=errors)  # fmt: skip


def _refused(operation: OperationContract, idoc_type: IDocType, problems: list[IDocProblem]) -> SoapFault:
    messages = [problem.message for problem in problems]
    first = messages[0] if messages else "no detail"
    more = f" (and {len(messages) - 1} more problem(s), listed in the fault detail)" if len(messages) > 1 else ""
    return SoapFault(f"the {idoc_type.label} IDoc would be rejected by SAP: {first}{more}", errors=messages)
