"""idocbridge: model-driven SOAP services that deliver IDocs to SAP exactly once over tRFC.

The package is organised by concern; import from the submodules, for example
``from idocbridge.models import load_model``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
