"""``idocbridge send``: send IDoc files (flat, IDoc-XML or JSON) to a running service, one or more IDocs per request.

zeep reads the service's WSDL (endpoint, SOAP action, what the operation takes), carries each request
and reads each answer. Every request gets a MessageId derived from its IDocs' content, so sending a file
again after an interruption (with the same ``--per-request``) starts no second delivery: the service
answers with the first request's receipt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table

from idocbridge.cli.console import err, out
from idocbridge.errors import IdocbridgeError

if TYPE_CHECKING:
    import requests
    import zeep
    from lxml import etree

    from idocbridge.idoc.document import IDoc
    from idocbridge.idoc.files import MetadataResolver
    from idocbridge.idoc.metadata import IDocType
    from idocbridge.idoc.tables import IDocRecords

# zeep, requests, lxml and the IDoc package (which loads the models) are imported inside the functions
# that use them: `idocbridge --help` builds this command too, and must not load them.

__all__ = ["send"]

PASSWORD_VARIABLE = "IDOCBRIDGE_SEND_PASSWORD"
MAX_IDOCS_PER_REQUEST = 1000
"""The most --per-request allows: the SOAP layer's MAX_IDOCS_PER_REQUEST (soap/idoc_request.py), named here
because importing the SOAP layer loads the models and SQLAlchemy, which ``idocbridge --help`` must not;
tests/test_cli_imports.py checks that the two agree."""
_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
_SHOWN = 50


class MessageIds(StrEnum):
    content = "content"
    none = "none"


@dataclass(frozen=True)
class _Target:
    """What the operation takes: ``flat``, ``xml`` (any type) or ``typed`` (IDoc-XML of ``root``)."""

    kind: str
    root: str | None
    namespace: str
    element: str


@dataclass
class _Result:
    file: str
    number: int
    label: str
    tid: str = ""
    transaction_id: str = ""
    """The request's transaction ID in the service's log (also for a fault, from its detail)."""
    state: str = ""
    error: str = ""


def _target(client: zeep.Client, operation: str) -> _Target:
    # imported here: --help must not load zeep or lxml
    import zeep  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    binding = client.service._binding
    try:
        found = binding.get(operation)
    except ValueError:
        names = ", ".join(sorted(binding._operations)) or "none"
        raise IdocbridgeError(f"the service has no operation {operation}; its operations: {names}") from None
    body = found.input.body
    qname = etree.QName(body.qname)
    elements: list[tuple[str, Any]] = list(body.type.elements)
    namespace = qname.namespace or ""
    if any(isinstance(element, zeep.xsd.Any) for _, element in elements):
        return _Target("xml", None, namespace, qname.localname)
    children = [name for name, _ in elements]
    if children == ["flatIDoc"]:
        return _Target("flat", None, namespace, qname.localname)
    if len(elements) == 1 and etree.QName(elements[0][1].qname).namespace is None:
        return _Target("typed", children[0], namespace, qname.localname)
    raise IdocbridgeError(f"operation {operation} does not take an IDoc (IDoc-XML or flatIDoc): it takes {children}")


@dataclass(frozen=True)
class _Item:
    """One IDoc of a file: a document for XML operations, records for flat ones."""

    file: str
    number: int
    control: dict[str, str]
    idoc: IDoc | None
    records: IDocRecords | None

    @property
    def label(self) -> str:
        return _label(self.control)

    def message_id(self) -> str:
        """``idoc-`` and the SHA-256 of the IDoc's content: the same IDoc always gets the same ID."""
        from idocbridge.idoc.idoc_json import idoc_to_json  # noqa: PLC0415 - --help must not load the IDoc package

        content = idoc_to_json(self.idoc) if self.idoc is not None else vars(self.records)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return "idoc-" + hashlib.sha256(canonical).hexdigest()

    def document(self, target: _Target) -> str:
        """The IDoc-XML document element this IDoc goes in ("" for flat): IDocs of one request share it."""
        from idocbridge.idoc.names import xml_name  # noqa: PLC0415 - --help must not load the IDoc package

        return "" if self.idoc is None else xml_name(target.root or self.idoc.type_label)


def _message_id(items: list[_Item]) -> str:
    """One IDoc's ID, or for many ``idocs-`` and the SHA-256 of their IDs: the same IDocs, the same ID."""
    if len(items) == 1:
        return items[0].message_id()
    joined = "\n".join(item.message_id() for item in items)
    return "idocs-" + hashlib.sha256(joined.encode("ascii")).hexdigest()


def _body(target: _Target, items: list[_Item]) -> etree._Element:
    # imported here: --help must not load lxml or the IDoc package
    from lxml import etree  # noqa: PLC0415

    from idocbridge.idoc.flat import write_flat_idoc  # noqa: PLC0415
    from idocbridge.idoc.idoc_xml import idoc_to_element  # noqa: PLC0415

    wrapper = etree.Element(f"{{{target.namespace}}}{target.element}", nsmap={"tns": target.namespace})
    if target.kind == "flat":
        text = io.StringIO()
        for item in items:
            assert item.records is not None
            write_flat_idoc(text, item.records)
        etree.SubElement(wrapper, f"{{{target.namespace}}}flatIDoc").text = text.getvalue()
    else:
        document = etree.SubElement(wrapper, items[0].document(target))
        for item in items:
            assert item.idoc is not None
            document.append(idoc_to_element(item.idoc))
    return wrapper


def _message_id_namespace(operation: Any, fallback: str) -> str:
    """The namespace of the MessageId header ``operation`` takes, as its WSDL binding says (the service's
    namespace; an IDoc-XML operation's request element has a namespace of its own)."""
    from lxml import etree  # noqa: PLC0415 - --help must not load lxml

    header = operation.input.header
    parts = list(header.type.elements) if header is not None and header.type is not None else []
    for name, element in parts:
        if name == "MessageId":
            return etree.QName(element.qname).namespace or fallback
    return fallback


def _envelope(body: etree._Element, namespace: str, message_id: str | None) -> etree._Element:
    from lxml import etree  # noqa: PLC0415 - --help must not load lxml

    envelope = etree.Element(f"{{{_SOAP11}}}Envelope", nsmap={"soap": _SOAP11})
    if message_id is not None:
        header = etree.SubElement(envelope, f"{{{_SOAP11}}}Header")
        etree.SubElement(header, f"{{{namespace}}}MessageId", nsmap={"tns": namespace}).text = message_id
    etree.SubElement(envelope, f"{{{_SOAP11}}}Body").append(body)
    return envelope


class _Sender:
    """Sends IDocs through one zeep client, whose WSDL is read once; safe from threads
    (each call builds its own envelope; the requests session is shared)."""

    def __init__(self, url: str, operation: str, session: requests.Session, timeout: float) -> None:
        import zeep  # noqa: PLC0415 - --help must not load zeep

        transport = zeep.Transport(session=session, timeout=timeout, operation_timeout=timeout)
        self.client = zeep.Client(f"{url}?wsdl", transport=transport)
        self.target = _target(self.client, operation)
        self.binding = self.client.service._binding
        self.operation = self.binding.get(operation)
        self.address = self.client.service._binding_options["address"]
        self.headers = {"SOAPAction": f'"{self.operation.soapaction}"', "Content-Type": "text/xml; charset=utf-8"}
        self.header_namespace = _message_id_namespace(self.operation, self.target.namespace)

    def send(self, items: list[_Item], message_id: str | None) -> list[tuple[str, str, str]]:
        """Send IDocs in one request; return each one's TID, state and the request's transaction ID. Raises
        zeep's Fault for a SOAP fault."""
        import zeep  # noqa: PLC0415 - --help must not load zeep

        envelope = _envelope(_body(self.target, items), self.header_namespace, message_id)
        response = self.client.transport.post_xml(self.address, envelope, self.headers)
        result = self.binding.process_reply(self.client, self.operation, response)
        transaction = str(getattr(result, "transactionId", "") or "")
        if len(items) == 1:
            return [(str(getattr(result, "tid", "") or ""), str(getattr(result, "state", "") or ""), transaction)]
        receipts = list(getattr(result, "idocs", None) or [])
        if len(receipts) != len(items):
            raise zeep.exceptions.Error(f"the answer has {len(receipts)} IDoc receipts for the {len(items)} IDocs sent")
        return [(str(receipt.tid or ""), str(receipt.state or ""), transaction) for receipt in receipts]


def _items(
    files: list[Path], target: _Target, resolve: MetadataResolver | None, encoding: str
) -> Iterator[_Item | _Result]:
    """Each IDoc of ``files`` in the form the operation takes; an IDoc that cannot be converted is a failed
    result (the others still go). A file that cannot be read raises IdocbridgeError."""
    # imported here: --help must not load the IDoc package
    from idocbridge.idoc.files import detect_format, iter_documents, iter_records  # noqa: PLC0415
    from idocbridge.idoc.tables import idoc_to_records, records_to_idoc  # noqa: PLC0415

    for path in files:
        file_format = detect_format(path)
        if file_format == "flat":
            for number, records in enumerate(iter_records(path, "flat", encoding=encoding), start=1):
                if target.kind == "flat":
                    yield _Item(str(path), number, records.control, None, records)
                    continue
                try:
                    idoc = records_to_idoc(records, _need(resolve, records.control))
                except IdocbridgeError as exc:
                    yield _Result(str(path), number, _label(records.control), error=str(exc))
                    continue
                yield _Item(str(path), number, idoc.control, idoc, None)
        else:
            for number, idoc in enumerate(iter_documents(path, file_format), start=1):
                if target.kind != "flat":
                    yield _Item(str(path), number, idoc.control, idoc, None)
                    continue
                try:
                    records = idoc_to_records(idoc, _need(resolve, idoc.control), segnam="definition")
                except IdocbridgeError as exc:
                    yield _Result(str(path), number, _label(idoc.control), error=str(exc))
                    continue
                yield _Item(str(path), number, idoc.control, None, records)


def _need(resolve: MetadataResolver | None, control: dict[str, str]) -> IDocType:
    if resolve is None:
        raise IdocbridgeError("converting between flat and XML needs the IDoc type's metadata: give --metadata")
    return resolve(control.get("IDOCTYP", ""), control.get("CIMTYP") or None)


def _label(control: dict[str, str]) -> str:
    kind = control.get("CIMTYP") or control.get("IDOCTYP") or "no IDOCTYP"
    return f"{kind} {control['DOCNUM']}" if control.get("DOCNUM") else kind


def _send_request(sender: _Sender, items: list[_Item], with_id: bool) -> list[_Result]:
    """Send ``items`` in one request; a result per IDoc. A fault of a request of many IDocs says, in its
    detail, how each IDoc ended (``IDoc 2: CONFIRMED under TID ...``, ``IDoc 3: FAILED ...: why``)."""
    # imported here: --help must not load zeep or requests
    import requests  # noqa: PLC0415
    import zeep  # noqa: PLC0415

    results = [_Result(item.file, item.number, item.label) for item in items]
    try:
        answered = sender.send(items, _message_id(items) if with_id else None)
        for result, (tid, state, transaction) in zip(results, answered, strict=True):
            result.tid, result.state, result.transaction_id = tid, state, transaction
    except zeep.exceptions.Fault as exc:
        lines = _idoc_lines(exc.detail) if len(items) > 1 else {}
        found = exc.detail.find(".//{*}transactionId") if exc.detail is not None else None
        for number, result in enumerate(results, start=1):
            result.transaction_id = (found.text or "") if found is not None else ""
            line = lines.get(number)
            state, _, tid = (line or "").partition(" under TID ")
            if line is not None and state in _DELIVERED:
                result.state, result.tid = state, tid.partition(" ")[0]
            else:
                result.error = line or str(exc.message)
    except (requests.RequestException, zeep.exceptions.Error, OSError) as exc:
        for result in results:
            result.error = f"{type(exc).__name__}: {exc}"
    return results


_DELIVERED = {"ACCEPTED", "PACKED", "TID_ASSIGNED", "EXECUTED", "CONFIRMED", "RETRY_WAIT"}
"""States a fault's detail may name for an IDoc that is on its way (not refused)."""


def _idoc_lines(detail: etree._Element | None) -> dict[int, str]:
    """What a fault's detail says of each IDoc of the request, by its number (``IDoc 2: ...``)."""
    lines: dict[int, str] = {}
    for node in detail.iter("{*}error") if detail is not None else ():
        label, _, said = (node.text or "").partition(": ")
        number = label.removeprefix("IDoc ")
        if label.startswith("IDoc ") and number.isdigit():
            lines[int(number)] = f"{lines[int(number)]}; {said}" if int(number) in lines else said
    return lines


def _requests(items: Iterator[_Item | _Result], per_request: int) -> Iterator[list[_Item | _Result]]:
    """The IDocs of each file in requests of ``per_request`` by their place in the file (IDocs 1 to N, then
    N+1 to 2N, ...), so that every request, and its MessageId, is the same whenever the file is sent. A
    request is sent whole or not at all: when one of its IDocs could not be converted, or the file could not
    be read to the request's end, none of its IDocs is sent (sent later whole, the request gets another
    MessageId: those sent now would go twice)."""
    group: list[_Item | _Result] = []
    place: tuple[str, int] | None = None
    try:
        for item in items:
            here = (item.file, (item.number - 1) // per_request)
            if group and here != place:
                yield _whole(group)
                group = []
            place = here
            group.append(item)
            if item.number % per_request == 0:  # complete: sent before reading on
                yield _whole(group)
                group = []
    except IdocbridgeError:
        if group:
            yield _not_sent(group, "the rest of its request could not be read")
        raise
    if group:
        yield _whole(group)


def _whole(group: list[_Item | _Result]) -> list[_Item | _Result]:
    """``group``, or, when one of its IDocs could not be converted, none of it to send."""
    failed = next((item for item in group if isinstance(item, _Result)), None)
    if failed is None or len(group) == 1:
        return group
    return _not_sent(group, f"IDoc {failed.number} of its request could not be converted")


def _not_sent(group: list[_Item | _Result], why: str) -> list[_Item | _Result]:
    return [_Result(one.file, one.number, one.label, error=f"not sent: {why}") if isinstance(one, _Item) else one
            for one in group]  # fmt: skip


def _send_group(sender: _Sender, group: list[_Item | _Result], with_ids: bool) -> list[_Result]:
    """Send the IDocs of ``group`` (one request per IDoc-XML document type among them); results in its order."""
    by_document: dict[str, list[_Item]] = {}
    for item in group:
        if isinstance(item, _Item):
            by_document.setdefault(item.document(sender.target), []).append(item)
    sent: dict[int, _Result] = {}
    for items in by_document.values():
        for item, result in zip(items, _send_request(sender, items, with_ids), strict=True):
            sent[id(item)] = result
    return [sent[id(item)] if isinstance(item, _Item) else item for item in group]


def _send_all(sender: _Sender, files: list[Path], resolve: MetadataResolver | None, encoding: str, with_ids: bool,
              parallel: int, per_request: int) -> list[_Result]:  # fmt: skip
    """Send every IDoc of ``files``, ``per_request`` to a request, at most ``parallel`` requests at once;
    results in file order."""
    # imported here: only sending shows progress
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    results: list[_Result] = []
    pending: list[Future[list[_Result]]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress, ThreadPoolExecutor(parallel) as pool:
        task = progress.add_task("sending IDocs", total=None)

        def collect(keep: int) -> None:
            while len(pending) > keep:
                done = pending.pop(0).result()
                results.extend(done)
                progress.advance(task, len(done))

        try:
            for group in _requests(_items(files, sender.target, resolve, encoding), per_request):
                if any(isinstance(item, _Item) for item in group):
                    pending.append(pool.submit(_send_group, sender, group, with_ids))
                else:  # none could be converted, or the file could not be read on: nothing to send
                    failed: Future[list[_Result]] = Future()
                    failed.set_result(cast(list[_Result], group))
                    pending.append(failed)
                progress.update(task, total=(progress.tasks[0].total or 0) + len(group))
                collect(parallel * 4)  # read ahead a little: files of any size, bounded memory
        except IdocbridgeError as exc:  # a file that cannot be read: say so, finish what was sent
            collect(0)
            results.append(_Result("", 0, "", error=str(exc)))
        collect(0)
    return results


def _report(results: list[_Result], as_json: bool) -> None:
    """A table and a summary line, or with ``as_json`` a JSON object per IDoc on standard output and the
    summary on standard error (so that the output is JSON lines only)."""
    if as_json:
        for result in results:
            sys.stdout.write(json.dumps(vars(result), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        table = Table("file", "IDoc", "type", "TID", "state or error", title="IDocs sent")
        shown = sorted(results, key=lambda r: not r.error)[:_SHOWN]
        for result in shown:
            table.add_row(result.file, str(result.number or ""), result.label, result.tid,
                          result.error or result.state)  # fmt: skip
        out.print(table)
        if len(results) > len(shown):
            out.print(f"({len(results) - len(shown)} more not shown; --json lists them all)", markup=False)
    states: dict[str, int] = {}
    for result in results:
        key = "FAILED" if result.error else result.state
        states[key] = states.get(key, 0) + 1
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    (err if as_json else out).print(f"{len(results)} IDoc(s): {summary or 'none'}", markup=False)


def _trusting_only(ca_certificate: str) -> requests.adapters.HTTPAdapter:
    """An HTTPS adapter that verifies every request against ``ca_certificate`` alone."""
    import requests  # noqa: PLC0415 - --help must not load requests

    class TrustingOnly(requests.adapters.HTTPAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            kwargs["verify"] = ca_certificate
            return super().send(request, **kwargs)

    return TrustingOnly()


def send(
    files: Annotated[
        list[Path], typer.Argument(help="IDoc files: flat, IDoc-XML or JSON.", exists=True, dir_okay=False)
    ],
    url: Annotated[str, typer.Option("--url", help="The service's address, e.g. http://localhost:8080/IDocService.")],
    operation: Annotated[str, typer.Option("--operation", "-o", help="The operation that takes the IDocs.")],
    metadata: Annotated[
        list[Path] | None,
        typer.Option("--metadata", "-m", help="Parser file for converting between flat and XML; repeatable."),
    ] = None,
    encoding: Annotated[str, typer.Option(help="Code page of flat input files.")] = "utf-8",
    user: Annotated[
        str | None, typer.Option(help=f"Basic auth user; the password comes from ${PASSWORD_VARIABLE}.")
    ] = None,
    ca_certificate: Annotated[
        Path | None, typer.Option("--ca-cert", help="CA certificate of an HTTPS service.")
    ] = None,
    parallel: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight at once.")] = 4,
    per_request: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_IDOCS_PER_REQUEST,
            help="IDocs in one request (accepted all or none); keep it when sending a file again.",
        ),
    ] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 120.0,
    message_ids: Annotated[
        MessageIds, typer.Option(help="content: a MessageId from each IDoc's content (resending is safe); none.")
    ] = MessageIds.content,
    as_json: Annotated[bool, typer.Option("--json", help="Print every result as a JSON line.")] = False,
) -> None:
    """Send IDocs to a running service, with a progress bar and a summary of TIDs and states."""
    # imported here: --help must not load requests or the IDoc package
    import requests  # noqa: PLC0415

    from idocbridge.idoc.registry import IDocTypeRegistry  # noqa: PLC0415

    session = requests.Session()
    if user is not None:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            err.print(f"error: --user needs the password in the environment variable {PASSWORD_VARIABLE}", markup=False)
            raise typer.Exit(2)
        session.auth = (user, password)
    if ca_certificate is not None:
        # requests lets REQUESTS_CA_BUNDLE (and CURL_CA_BUNDLE) win over a session's verify: an adapter that
        # sets it on every request makes --ca-cert win, whatever the environment says
        session.mount("https://", _trusting_only(str(ca_certificate)))
    resolve: MetadataResolver | None = None
    try:
        if metadata:
            registry = IDocTypeRegistry()
            registry.load_parser_files(metadata)
            resolve = registry.get
        sender = _Sender(url.rstrip("/"), operation, session, timeout)
    except (IdocbridgeError, requests.RequestException, OSError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    results = _send_all(sender, files, resolve, encoding, message_ids is MessageIds.content, parallel, per_request)
    _report(results, as_json)
    if any(result.error for result in results):
        raise typer.Exit(1)
