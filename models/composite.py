"""The composite (<<E2EComposite>>): service-wide settings of a model."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from idocbridge.models.element import Element

__all__ = ["LOG_LEVELS", "Composite", "LogLevel", "TransactionLogSettings", "ValuePadding"]

ValuePadding = Literal["Never", "Always", "Mixed"]
LogLevel = Literal["None", "Custom", "Service", "IO"]

LOG_LEVELS: tuple[LogLevel, ...] = ("None", "Custom", "Service", "IO")
"""Cumulative: each level logs what the ones before it log, and more."""


class TransactionLogSettings(Element):
    """What the transaction log records, and for how long."""

    label: ClassVar[str] = "transaction log settings"
    xml_tag: ClassVar[str] = "transactionLog"

    level: LogLevel = "IO"
    """None < Custom < Service (requests) < IO (every SAP call and pool wait)."""
    retention_days: int = Field(default=30, ge=1, le=3650)
    """Days a log row is kept before the retention job purges it."""


class Composite(Element):
    """<<E2EComposite>>: the deployment unit's settings."""

    label: ClassVar[str] = "composite"
    xml_tag: ClassVar[str] = "composite"

    sap_pool_size: int = Field(default=10, ge=1, le=1000)
    """Connection pool size for aliases without their own poolSize."""
    sap_value_padding: ValuePadding = "Never"
    """How SAP character values are padded: Never, Always or Mixed."""
    transaction_log: TransactionLogSettings = Field(default_factory=TransactionLogSettings)
