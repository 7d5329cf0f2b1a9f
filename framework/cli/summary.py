"""A readable summary of a model for the command line: aliases, pools, services and their chains."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from idocbridge.models.model import Model
from idocbridge.models.pools import plan_pools

__all__ = ["render_summary"]


def render_summary(model: Model, source: str, console: Console) -> None:
    """Print what a model declares. User names are shown, passwords never."""
    composite = model.composite
    console.print(
        f"[bold]{escape(model.name)}[/bold] {escape(model.version)}  ({escape(source)})\n"
        f"composite: pool size {composite.sap_pool_size}, value padding {composite.sap_value_padding}, "
        f"log level {composite.transaction_log.level}, retention {composite.transaction_log.retention_days} days"
    )
    aliases = Table(title="SAP aliases", title_justify="left")
    aliases.add_column("alias", overflow="fold")
    for column in ("protocol", "transport", "host", "client", "user", "pool size"):
        aliases.add_column(column)
    for alias in model.aliases:
        aliases.add_row(
            alias.name,
            alias.protocol,
            alias.transport,
            alias.host,
            alias.client or "-",
            alias.user_name() or "-",
            str(alias.pool_size or f"({composite.sap_pool_size})"),
        )
    pools = Table(title="Connection pools", title_justify="left")
    pools.add_column("size")
    pools.add_column("shared by", overflow="fold")
    for plan in plan_pools(model):
        pools.add_row(str(plan.size), Text(", ".join(plan.aliases)))
    services = Tree("SOAP services")
    for service in model.services:
        branch = services.add(Text(f"{service.name} at {service.url_path}"))
        for port in service.port_types:
            port_branch = branch.add(Text(f"port type {port.name}"))
            for operation in port.operations:
                chain = " -> ".join(f"{step.stereotype}({step.name})" for step in operation.activity) or "no activity"
                idoc = operation.idoc
                takes = ""
                if idoc is not None:
                    kind = "IDoc-XML" if idoc.format == "xml" else "a flat IDoc"
                    takes = f" (takes {kind}: {idoc.type or 'any IDoc type'})"
                port_branch.add(Text(f"{operation.name}{takes}: {chain}"))
    counts = (
        f"{len(model.structures)} structures, {len(model.table_types)} table types, "
        f"{len(model.functions)} functions (plus the built-in ones)"
    )
    console.print(Group(aliases, pools, services, counts))
