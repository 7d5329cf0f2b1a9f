"""``idocbridge send``: send IDoc files (flat, IDoc-XML or JSON) to a running service, one IDoc per request.

zeep reads the service's WSDL (endpoint, SOAP action, what the operation takes), carries each request
and reads each answer. Every IDoc gets a MessageId derived from its content, so sending a file again
after an interruption starts no second delivery: the service answers with the first request's receipt.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
import zeep
from lxml import etree
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from idocbridge.cli.console import err, out
from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc
from idocbridge.idoc.files import MetadataResolver, detect_format, iter_documents, iter_records
from idocbridge.idoc.flat import write_flat_idoc
from idocbridge.idoc.idoc_json import idoc_to_json
from idocbridge.idoc.idoc_xml import idoc_to_element
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.names import xml_name
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.idoc.tables import IDocRecords, idoc_to_records, records_to_idoc

__all__ = ["send"]

PASSWORD_VARIABLE = "IDOCBRIDGE_SEND_PASSWORD"
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
    state: str = ""
    error: str = ""


def _target(client: zeep.Client, operation: str) -> _Target:
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
        content = idoc_to_json(self.idoc) if self.idoc is not None else vars(self.records)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return "idoc-" + hashlib.sha256(canonical).hexdigest()


def _body(target: _Target, item: _Item) -> etree._Element:
    wrapper = etree.Element(f"{{{target.namespace}}}{target.element}", nsmap={"tns": target.namespace})
    if target.kind == "flat":
        assert item.records is not None
        text = io.StringIO()
        write_flat_idoc(text, item.records)
        etree.SubElement(wrapper, f"{{{target.namespace}}}flatIDoc").text = text.getvalue()
    else:
        assert item.idoc is not None
        document = etree.SubElement(wrapper, xml_name(target.root or item.idoc.type_label))
        document.append(idoc_to_element(item.idoc))
    return wrapper


def _envelope(body: etree._Element, namespace: str, message_id: str | None) -> etree._Element:
    envelope = etree.Element(f"{{{_SOAP11}}}Envelope", nsmap={"soap": _SOAP11})
    if message_id is not None:
        header = etree.SubElement(envelope, f"{{{_SOAP11}}}Header")
        etree.SubElement(header, f"{{{namespace}}}MessageId", nsmap={"tns": namespace}).text = message_id
    etree.SubElement(envelope, f"{{{_SOAP11}}}Body").append(body)
    return envelope


class _Sender:
    """Sends one IDoc per request through one zeep client, whose WSDL is read once; safe from threads
    (each call builds its own envelope; the requests session is shared)."""

    def __init__(self, url: str, operation: str, session: requests.Session, timeout: float) -> None:
        transport = zeep.Transport(session=session, timeout=timeout, operation_timeout=timeout)
        self.client = zeep.Client(f"{url}?wsdl", transport=transport)
        self.target = _target(self.client, operation)
        self.binding = self.client.service._binding
        self.operation = self.binding.get(operation)
        self.address = self.client.service._binding_options["address"]
        self.headers = {"SOAPAction": f'"{self.operation.soapaction}"', "Content-Type": "text/xml; charset=utf-8"}

    def send(self, item: _Item, message_id: str | None) -> tuple[str, str]:
        """Send one IDoc; return the receipt's TID and state. Raises zeep's Fault for a SOAP fault."""
        envelope = _envelope(_body(self.target, item), self.target.namespace, message_id)
        response = self.client.transport.post_xml(self.address, envelope, self.headers)
        result = self.binding.process_reply(self.client, self.operation, response)
        return str(getattr(result, "tid", "") or ""), str(getattr(result, "state", "") or "")


def _items(
    files: list[Path], target: _Target, resolve: MetadataResolver | None, encoding: str
) -> Iterator[_Item | _Result]:
    """Each IDoc of ``files`` in the form the operation takes; an IDoc that cannot be converted is a failed
    result (the others still go). A file that cannot be read raises IdocbridgeError."""
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


def _send_one(sender: _Sender, item: _Item, with_id: bool) -> _Result:
    result = _Result(item.file, item.number, item.label)
    try:
        result.tid, result.state = sender.send(item, item.message_id() if with_id else None)
    except zeep.exceptions.Fault as exc:
        result.error = str(exc.message)
    except (requests.RequestException, zeep.exceptions.Error, OSError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _send_all(
    sender: _Sender, files: list[Path], resolve: MetadataResolver | None, encoding: str, with_ids: bool, parallel: int
) -> list[_Result]:
    """Send every IDoc of ``files``, at most ``parallel`` at once; results in file order."""
    results: list[_Result] = []
    pending: list[Future[_Result]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress, ThreadPoolExecutor(parallel) as pool:
        task = progress.add_task("sending IDocs", total=None)

        def collect(keep: int) -> None:
            while len(pending) > keep:
                results.append(pending.pop(0).result())
                progress.advance(task)

        try:
            for item in _items(files, sender.target, resolve, encoding):
                if isinstance(item, _Result):  # could not be converted: nothing to send
                    done: Future[_Result] = Future()
                    done.set_result(item)
                    pending.append(done)
                else:
                    pending.append(pool.submit(_send_one, sender, item, with_ids))
                progress.update(task, total=len(results) + len(pending))
                collect(parallel * 4)  # read ahead a little: files of any size, bounded memory
        except IdocbridgeError as exc:  # a file that cannot be read: say so, finish what was sent
            collect(0)
            results.append(_Result("", 0, "", error=str(exc)))
        collect(0)
    return results


def _report(results: list[_Result], as_json: bool) -> None:
    if as_json:
        for result in results:
            out.print(json.dumps(vars(result)), markup=False, soft_wrap=True)
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
    out.print(f"{len(results)} IDoc(s): {summary or 'none'}", markup=False)


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
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 120.0,
    message_ids: Annotated[
        MessageIds, typer.Option(help="content: a MessageId from each IDoc's content (resending is safe); none.")
    ] = MessageIds.content,
    as_json: Annotated[bool, typer.Option("--json", help="Print every result as a JSON line.")] = False,
) -> None:
    """Send IDocs to a running service, one per request, with a progress bar and a summary of TIDs and states."""
    session = requests.Session()
    if user is not None:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            err.print(f"error: --user needs the password in the environment variable {PASSWORD_VARIABLE}", markup=False)
            raise typer.Exit(2)
        session.auth = (user, password)
    if ca_certificate is not None:
        session.verify = str(ca_certificate)
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
    results = _send_all(sender, files, resolve, encoding, message_ids is MessageIds.content, parallel)
    _report(results, as_json)
    if any(result.error for result in results):
        raise typer.Exit(1)
