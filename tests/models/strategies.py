"""Hypothesis strategies that build valid models, element by element."""

from __future__ import annotations

import keyword
import string

from hypothesis import strategies as st

from idocbridge.models import (
    Composite,
    ConfirmTransactionStep,
    CreateTransactionStep,
    Field,
    Mapping,
    Model,
    Operation,
    PortType,
    RFCCallStep,
    SAPAlias,
    SoapService,
    Structure,
    TableType,
    TransactionLogSettings,
    TRFCCallStep,
    WebSocketSettings,
)

identifiers = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: not (keyword.iskeyword(name) or keyword.issoftkeyword(name))  # a rule refuses those as names
)
_TEXT_ALPHABET = string.ascii_letters + string.digits + " .,;:!?'\"<>&/()[]{}#%*+-=_\\äöüßéñ€日本語\n\t"
texts = st.text(alphabet=_TEXT_ALPHABET, min_size=1, max_size=60).filter(lambda s: s.strip() == s and s)
hosts = st.sampled_from(["localhost", "sap.example.com", "10.0.0.12", "s4-prd.corp.example", "::1"])
clients = st.from_regex(r"[0-9]{3}", fullmatch=True)
scalar_types = st.one_of(
    st.builds(lambda n: f"CHAR({n})", st.integers(1, 1333)),
    st.builds(lambda n: f"NUMC({n})", st.integers(1, 255)),
    st.builds(lambda p, s: f"DEC({p},{min(s, p, 14)})", st.integers(1, 31), st.integers(0, 14)),
    st.builds(lambda n: f"RAW({n})", st.integers(1, 255)),
    st.sampled_from(["DATS", "TIMS", "INT1", "INT2", "INT4", "INT8", "FLTP", "STRING", "XSTRING"]),
    st.sampled_from(["String", "Integer", "Float", "Decimal", "Boolean", "Date", "DateTime", "Blob"]),
)
options = st.lists(
    st.sampled_from(['LCHECK="1"', 'TRACE="0"', 'CODEPAGE="4110"', 'WAN="1"', 'SNC_MODE="1"', 'IDLE_TIMEOUT="600"']),
    unique=True,
    max_size=3,
).map(" ".join)


def _maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), strategy)


@st.composite
def aliases(draw: st.DrawFn, name: str) -> SAPAlias:
    values: dict[str, object] = {
        "name": name,
        "protocol": draw(st.sampled_from(["rfc", "trfc"])),
        "host": draw(hosts),
        "client": draw(clients),
        "user": draw(identifiers) + "/${SAP_PASSWORD}",
        "connector": "pyrfc",  # takes every option the strategies write
    }
    optional = {
        "systemNumber": st.from_regex(r"[0-9]{2}", fullmatch=True),
        "routerString": st.sampled_from(["/H/saprouter.example.com/S/3299/H/", "/H/gw/W/pw/H/"]),
        "poolSize": st.integers(1, 1000),
        "language": st.sampled_from(["E", "D", "EN", "DE", "1"]),
        "sapTrace": st.booleans(),
        "options": options.filter(bool),
        "description": texts,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            values[key] = draw(strategy)
    if draw(st.booleans()):
        values["transport"] = "websocket"
        if draw(st.booleans()):
            values["websocket"] = WebSocketSettings(
                port=draw(st.integers(1, 65535)),
                client_certificate="certs/client.pem",
                client_key="certs/client.key",
                trusted_ca=draw(_maybe(st.just("certs/ca.pem"))),
                alias_user=draw(_maybe(identifiers)),
            )
    return SAPAlias.model_validate(values)


@st.composite
def structures(draw: st.DrawFn, names: list[str]) -> list[Structure]:
    result: list[Structure] = []
    for position, name in enumerate(names):
        earlier = names[:position]
        field_names = draw(st.lists(identifiers, unique=True, max_size=4))
        fields = []
        for field_name in field_names:
            type_ = draw(st.one_of(scalar_types, st.sampled_from(earlier))) if earlier else draw(scalar_types)
            values: dict[str, object] = {"name": field_name, "type": type_}
            if draw(st.booleans()):
                values["array"] = draw(st.booleans())
            if draw(st.booleans()):
                values["description"] = draw(texts)
            fields.append(Field.model_validate(values))
        description = draw(_maybe(texts))
        result.append(Structure(name=name, fields=fields, **({"description": description} if description else {})))
    return result


def _trfc_chain(alias: str, value: str) -> list[object]:
    return [
        CreateTransactionStep(stereotype="SAPTRFCCreateTransaction", name="create", alias=alias),
        TRFCCallStep(
            stereotype="SAPTRFCAdapter",
            name="call",
            alias=alias,
            function="IDOC_INBOUND_ASYNCHRONOUS",
            transaction="create",
            inputs=[Mapping.model_validate({"to": "tables.IDOC_CONTROL_REC_40[0].MESTYP", "value": value})],
        ),
        ConfirmTransactionStep(
            stereotype="SAPTRFCConfirmTransaction", name="confirm", alias=alias, transaction="create"
        ),
    ]


@st.composite
def models(draw: st.DrawFn) -> Model:
    names = draw(st.lists(identifiers, unique_by=str.lower, min_size=1, max_size=9))
    alias_names, type_names, rest = names[:3], names[3:6], names[6:]
    alias_list = [draw(aliases(name)) for name in alias_names]
    structure_list = draw(structures([n for n in type_names if n not in ("EDI_DC40", "EDI_DD40")]))
    tables = [TableType(name=f"{s.name}_TAB", row_type=s.name) for s in structure_list[:1]]
    trfc = next((a.name for a in alias_list if a.protocol == "trfc"), None)
    rfc = next((a.name for a in alias_list if a.protocol == "rfc"), None)
    operations = []
    for index, name in enumerate(rest or ["Op"]):
        activity: list[object] = []
        if trfc and index % 2 == 0:
            activity = _trfc_chain(trfc, draw(st.from_regex(r"[A-Z][A-Z0-9_]{0,29}", fullmatch=True)))
        elif rfc:
            activity = [RFCCallStep(stereotype="SAPRFCAdapter", name="ping", alias=rfc, function="STFC_CONNECTION")]
        operations.append(Operation.model_validate({"name": name, "activity": activity}))
    service = SoapService(name="Service", port_types=[PortType(name="Port", operations=operations)])
    composite = Composite(
        sap_pool_size=draw(st.integers(1, 1000)),
        sap_value_padding=draw(st.sampled_from(["Never", "Always", "Mixed"])),
        transaction_log=TransactionLogSettings(
            level=draw(st.sampled_from(["None", "Custom", "Service", "IO"])), retention_days=draw(st.integers(1, 3650))
        ),
    )
    description = draw(_maybe(texts))
    return Model(
        name=draw(identifiers),
        version=draw(st.sampled_from(["1.0", "2", "2024.10"])),
        composite=composite,
        aliases=alias_list,
        structures=structure_list,
        table_types=tables,
        services=[service],
        **({"description": description} if description else {}),
    )
