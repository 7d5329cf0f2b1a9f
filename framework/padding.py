"""SAP value padding: how text values are filled up to their field length before they go to SAP.

The composite's ``sapValuePadding`` chooses one mode for the whole service, and every place that hands
text to SAP applies it through :func:`pad_value`: RFC and tRFC parameters (the mappings of an
activity) and the fields of IDoc segments (SDATA). The modes:

``Never`` (default)
    Values go as given. ``'42'`` for a NUMC(6) field stays ``'42'``; SAP sees ``'42    '`` in a
    record, which is not a valid NUMC value: the sender must send ``'000042'``.
``Mixed``
    Numeric text (NUMC, and IDoc fields of TYPE NUMERIC) is filled with leading zeros to its length:
    ``'42'`` -> ``'000042'``. Character values stay as given.
``Always``
    As ``Mixed``, and character values are filled with trailing blanks to their length:
    ``'AB'`` for CHAR(4) -> ``'AB  '``; flat IDoc files are written with full-width records.

Only values of digits are zero-filled; anything else is left alone, so that validation can report it.
"""

from __future__ import annotations

from typing import get_args

from idocbridge.models.composite import ValuePadding

__all__ = ["PADDING_MODES", "ValuePadding", "pad_value"]

PADDING_MODES: tuple[str, ...] = get_args(ValuePadding)


def pad_value(value: str, length: int | None, *, numeric: bool, padding: ValuePadding) -> str:
    """``value`` padded for a field of ``length`` characters (None: no length known, no padding)."""
    if padding == "Never" or length is None or len(value) >= length:
        return value
    if numeric:
        return value.zfill(length) if value.isascii() and value.isdigit() else value
    return value.ljust(length) if padding == "Always" else value
