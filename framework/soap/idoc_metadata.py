"""Where a served service finds IDoc metadata: the model's ``idocTypes``, else SAP (cached)."""

from __future__ import annotations

from pathlib import Path

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.idoc.errors import UnknownIDocTypeError
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.model_types import model_idoc_types, registry_of
from idocbridge.idoc.remote import IDocTypeCache
from idocbridge.models.model import Model
from idocbridge.soap.idoc_request import MetadataLookup

__all__ = ["METADATA_TTL_SECONDS", "idoc_metadata_lookup"]

METADATA_TTL_SECONDS = 3600.0
"""How long metadata read from SAP is kept before it is read again (IDoc types change with transports)."""


def idoc_metadata_lookup(model: Model, model_file: Path, pools: PoolSet) -> MetadataLookup:
    """Metadata by (basic type, extension): the model's parser files first, then IDOCTYPE_READ_COMPLETE
    through the operation's alias, cached for :data:`METADATA_TTL_SECONDS`.

    Raises :class:`~idocbridge.idoc.errors.ParserFileError` for a parser file that cannot be read.
    """
    registry = registry_of(model_idoc_types(model, model_file))
    cache = IDocTypeCache(ttl=METADATA_TTL_SECONDS)

    def lookup(basic: str, extension: str | None, alias: str | None) -> IDocType:
        try:
            return registry.get(basic, extension)
        except UnknownIDocTypeError:
            if alias is None:
                raise
        return cache.get(alias, pools.for_alias(alias).connection, basic, extension)

    return lookup
