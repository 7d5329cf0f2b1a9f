"""The ``idocbridge`` command: one module per command group (``idocbridge log``: :mod:`idocbridge.cli.log`),
the consoles and how the commands print (tables, diagnostics, model summaries)."""

from __future__ import annotations

from idocbridge.cli.app import app, main

__all__ = ["app", "main"]
