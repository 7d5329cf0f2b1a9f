"""A :class:`Trace` for people: a heading with the request's facts and a table of its steps."""

from __future__ import annotations

from datetime import tzinfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from idocbridge.cli.columns import printable
from idocbridge.tlog.trace import Trace

__all__ = ["render_trace"]

_KIND_LABEL = {
    "request": "SOAP call",
    "sap-call": "SAP call",
    "outbox": "outbox",
    "pool-wait": "pool wait",
    "other": "entry",
}


def render_trace(story: Trace, tz: tzinfo | None) -> RenderableType:
    """The story of one transaction, times in ``tz`` (None: local)."""
    title = Text.assemble(("transaction ", "dim"), (story.transaction_id, "bold"))
    where = ".".join(part for part in (story.service, story.operation) if part)
    if where:
        title.append(f"  {where}")
    title.append(f"  request {', '.join(map(str, story.request_ids))}")
    facts = Text()
    if story.started is not None:
        facts.append(f"started    {story.started.astimezone(tz):%Y-%m-%d %H:%M:%S.%f}"[:-3])
        facts.append(f" {story.started.astimezone(tz):%z}\n")
    if story.request_ok is None:
        facts.append("SOAP call  not logged (level Custom, or the request is still running)\n")
    else:
        state = Text("OK" if story.request_ok else "ERROR", style="" if story.request_ok else "bold red")
        facts.append("SOAP call  ").append(state).append(f" in {story.request_ms} ms")
        facts.append(f": {printable(story.request_error)}\n" if story.request_error else "\n")
    facts.append(f"TID        {', '.join(story.tids) or 'none logged'}\n")
    facts.append(f"IDoc number: {', '.join(story.idoc_numbers) or 'not recorded'}\n")
    if story.outbox_state is not None:
        facts.append(f"outbox     {printable(story.outbox_state)}\n")
    status_style = "bold green" if story.status == "OK" else "bold red"
    facts.append("status     ").append(story.status, style=status_style)
    parts: list[RenderableType] = [title, facts, _steps(story, tz)]
    if story.errors:
        errors = Text("errors\n", style="bold")
        errors.append("\n".join(f"  {printable(error)}" for error in story.errors))
        parts.append(errors)
    return Group(*parts)


def _steps(story: Trace, tz: tzinfo | None) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold", box=None)
    table.add_column("time", no_wrap=True)
    table.add_column("+ms", justify="right", no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("TID", no_wrap=True)
    table.add_column("try", justify="right", no_wrap=True)
    first = story.started
    for step in story.steps:
        offset = 0 if first is None else int((step.at - first).total_seconds() * 1000)
        table.add_row(
            f"{step.at.astimezone(tz):%H:%M:%S.%f}"[:-3],
            str(offset),
            _KIND_LABEL.get(step.kind, step.kind),
            Text(printable(step.what or step.component)),
            Text(printable(step.detail)),
            str(step.elapsed_ms),
            Text("OK" if step.ok else "ERROR", style="" if step.ok else "bold red"),
            Text(step.tid or ""),
            str(step.attempt) if step.kind == "sap-call" else "",
        )
    return table
