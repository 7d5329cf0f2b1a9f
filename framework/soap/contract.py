"""The contract of a SOAP service, derived from the model: names, types, messages, SOAP actions.

The generator renders WSDL, XSD and Python from it; the runtime binds XML to it. Every name and type
is computed here, so templates only loop and print.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from idocbridge.adapters.chain import trfc_chain
from idocbridge.models.activities import RFCCallStep, TRFCCallStep
from idocbridge.models.ddic import ScalarType
from idocbridge.models.index import ModelIndex
from idocbridge.models.model import Model
from idocbridge.models.services import Operation, SoapService
from idocbridge.soap.types import SimpleType, simple_type

__all__ = ["FieldContract", "OperationContract", "ServiceContract", "StructureContract", "service_contracts"]

RECEIPT = "DeliveryReceipt"


def python_name(name: str) -> str:
    """A Python identifier for a model name (``from`` becomes ``from_``)."""
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


@dataclass(frozen=True)
class FieldContract:
    """One element of a structure: its XML name, type, occurrences and Python spelling."""

    name: str
    python_name: str
    scalar: ScalarType | None
    simple: SimpleType | None
    structure: str | None
    array: bool
    optional: bool
    description: str

    @property
    def xsd_type(self) -> str:
        if self.structure is not None:
            return f"tns:{self.structure}"
        assert self.simple is not None
        return self.simple.name if self.simple.is_builtin else f"tns:{self.simple.name}"

    @property
    def min_occurs(self) -> int:
        return 0 if self.optional or self.array else 1

    @property
    def python_type(self) -> str:
        inner = self.structure if self.structure is not None else self.simple.python if self.simple else "str"
        return f"list[{inner}]" if self.array else inner


@dataclass(frozen=True)
class StructureContract:
    name: str
    python_name: str
    description: str
    fields: tuple[FieldContract, ...]


@dataclass(frozen=True)
class OperationContract:
    """A SOAP operation: its wrapper elements (``Name`` and ``NameResponse``) and what it runs."""

    name: str
    port_type: str
    input: str | None
    output: str | None
    soap_action: str
    delivers: bool
    chain: str
    description: str
    idoc_format: str | None = None
    """xml or flat for an operation whose request is one IDoc document (``input`` is then IDocRecords)."""
    idoc_type: str | None = None
    """The one IDoc type (basic type or extension) such an operation accepts; None: any."""
    idoc_alias: str | None = None
    """The alias of the operation's SAP call: where IDoc metadata the model lacks is read from."""
    honours_message_id: bool = False
    """The operation goes through the outbox, so a MessageId header makes it idempotent (else it is refused)."""

    @property
    def response_element(self) -> str:
        return f"{self.name}Response"


@dataclass(frozen=True)
class ServiceContract:
    model: str
    name: str
    namespace: str
    path: str
    description: str
    port_types: tuple[tuple[str, tuple[OperationContract, ...]], ...]
    structures: tuple[StructureContract, ...]
    simple_types: tuple[SimpleType, ...]

    @property
    def operations(self) -> tuple[OperationContract, ...]:
        return tuple(op for _, operations in self.port_types for op in operations)

    def operation(self, name: str) -> OperationContract | None:
        return next((op for op in self.operations if op.name == name), None)

    def structure(self, name: str) -> StructureContract:
        return next(s for s in self.structures if s.name == name)

    @property
    def honours_message_id(self) -> bool:
        """True if any operation takes the MessageId header."""
        return any(op.honours_message_id for op in self.operations)

    @property
    def idoc_types(self) -> tuple[str, ...]:
        """The IDoc types of operations that take IDoc-XML of one type, sorted, each once."""
        return tuple(sorted({op.idoc_type for op in self.operations if op.idoc_format == "xml" and op.idoc_type}))

    @property
    def takes_idoc_xml(self) -> bool:
        """True if any operation's request holds an IDoc-XML document."""
        return any(op.idoc_format == "xml" for op in self.operations)

    @property
    def idoc_namespace(self) -> str:
        """The namespace of the request elements that hold IDoc-XML, and of the IDoc types they use.

        Their schema leaves local elements unqualified, so the IDoc inside travels without a namespace, as SAP
        defines IDoc-XML; the service's own schema qualifies its elements. One schema cannot do both for every
        client (node-soap applies elementFormDefault to the whole schema), hence a namespace of their own:
        the service's namespace with ``:idoc`` (a URN) or ``/idoc`` (a URL) appended."""
        separator = "/" if "://" in self.namespace else ":"
        return f"{self.namespace.rstrip('/')}{separator}idoc"

    def request_namespace(self, operation: OperationContract) -> str:
        """The namespace of ``operation``'s request element."""
        return self.idoc_namespace if operation.idoc_format == "xml" else self.namespace


def _chain(operation: Operation) -> str:
    return " -> ".join(f"{step.stereotype}({step.name})" for step in operation.activity) or "no activity"


def honours_message_id(operation: Operation) -> bool:
    """True if the operation is delivered through the outbox (one tRFC transaction, not ``delivery: direct``)."""
    return trfc_chain(operation) is not None and operation.delivery != "direct"


def _operation(service: SoapService, port_type: str, operation: Operation, namespace: str) -> OperationContract:
    delivers = any(isinstance(step, TRFCCallStep) for step in operation.activity)
    output = operation.output or (RECEIPT if delivers else None)
    idoc = operation.idoc
    alias = next((step.alias for step in operation.activity if isinstance(step, TRFCCallStep | RFCCallStep)), None)
    return OperationContract(operation.name, port_type, operation.request_structure, output,
                             f"{namespace}/{operation.name}", delivers, _chain(operation), operation.description or "",
                             idoc.format if idoc else None, idoc.type if idoc else None,
                             alias if idoc else None, honours_message_id(operation))  # fmt: skip


def _collect(index: ModelIndex, roots: list[str]) -> tuple[list[StructureContract], set[SimpleType]]:
    seen: dict[str, StructureContract] = {}
    simples: set[SimpleType] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        structure = index.structures[name]
        fields = []
        for field in structure.fields:
            resolved = index.field_type(field)
            assert resolved is not None, f"{name}.{field.name}: the model was not checked"
            simple = simple_type(resolved.scalar) if resolved.scalar is not None else None
            if simple is not None:
                simples.add(simple)
            inner = resolved.structure.name if resolved.structure is not None else None
            if inner is not None:
                pending.append(inner)
            fields.append(FieldContract(field.name, python_name(field.name), resolved.scalar, simple, inner,
                                        resolved.array, field.optional, field.description or ""))  # fmt: skip
        seen[name] = StructureContract(name, python_name(name), structure.description or "", tuple(fields))
    return [seen[name] for name in sorted(seen)], simples


def service_contracts(model: Model) -> list[ServiceContract]:
    """The contract of every SOAP service of a checked model, in model order."""
    index = ModelIndex(model)
    contracts = []
    for service in model.services:
        namespace = service.namespace or f"urn:{model.name}:{service.name}"
        port_types = tuple(
            (port.name, tuple(_operation(service, port.name, op, namespace) for op in port.operations))
            for port in service.port_types
        )
        roots = sorted({name for _, ops in port_types for op in ops for name in (op.input, op.output) if name})
        structures, simples = _collect(index, roots)
        contracts.append(ServiceContract(model.name, service.name, namespace, service.url_path,
                                         service.description or "", port_types, tuple(structures),
                                         tuple(sorted(s for s in simples if not s.is_builtin))))  # fmt: skip
    return contracts
