"""The idocbridge metamodel: SAP aliases, types, functions, SOAP services and adapter chains.

Load a model with :func:`load_model` (YAML or XML by extension); errors are raised as one
:class:`ModelError` listing every problem with file, line, column and a hint.
"""

from __future__ import annotations

from idocbridge.models.activities import (
    ConfirmTransactionStep,
    CreateTransactionStep,
    Mapping,
    RFCCallStep,
    Step,
    TRFCCallStep,
)
from idocbridge.models.alias import SAPAlias, WebSocketSettings
from idocbridge.models.composite import Composite, TransactionLogSettings
from idocbridge.models.datatypes import Field, Structure, TableType
from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.functions import FunctionInterface
from idocbridge.models.loader import LoadedModel, load_model, load_model_text, syntax_of
from idocbridge.models.model import Model
from idocbridge.models.pools import PoolPlan, plan_pools
from idocbridge.models.schema_export import json_schema, xml_schema
from idocbridge.models.secrets import Secret, SecretError, resolve_secret
from idocbridge.models.services import Operation, PortType, SoapService
from idocbridge.models.settings import (
    AliasOverride,
    DeploymentSettings,
    apply_settings,
    load_deployment,
    load_settings,
)
from idocbridge.models.xml_io import write_xml
from idocbridge.models.yaml_io import dump_yaml

__all__ = [
    "AliasOverride",
    "Composite",
    "ConfirmTransactionStep",
    "CreateTransactionStep",
    "DeploymentSettings",
    "Diagnostic",
    "Field",
    "FunctionInterface",
    "LoadedModel",
    "Location",
    "Mapping",
    "Model",
    "ModelError",
    "Operation",
    "PoolPlan",
    "PortType",
    "RFCCallStep",
    "SAPAlias",
    "Secret",
    "SecretError",
    "Severity",
    "SoapService",
    "Step",
    "Structure",
    "TRFCCallStep",
    "TableType",
    "TransactionLogSettings",
    "WebSocketSettings",
    "apply_settings",
    "dump_yaml",
    "json_schema",
    "load_deployment",
    "load_model",
    "load_model_text",
    "load_settings",
    "plan_pools",
    "resolve_secret",
    "syntax_of",
    "write_xml",
    "xml_schema",
]
