"""Connection pools: one per connection string, sized by the rules of the <<SAPAlias>> poolSize.

Aliases whose connections are alike (same system, client, user, language, options, transport) share a
pool. Its size is the highest poolSize among them; if none sets one, the composite's sapPoolSize.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from idocbridge.models.alias import SAPAlias
from idocbridge.models.connection_options import MASKED_OPTIONS, SECRET_OPTIONS
from idocbridge.models.model import Model
from idocbridge.models.secrets import mask_router_string

__all__ = ["PoolPlan", "connection_key", "plan_pools"]


@dataclass(frozen=True)
class PoolPlan:
    """A connection pool: its connection string (without secrets), size and the aliases sharing it."""

    connection: str
    size: int
    aliases: tuple[str, ...]


def connection_key(alias: SAPAlias) -> str:
    """A canonical connection string for ``alias``; passwords are left out (they never identify a pool)."""
    parts = {
        "TRANSPORT": alias.transport,
        "HOST": alias.host,
        "SAPROUTER": mask_router_string(alias.router_string or ""),
        "SYSNR": alias.system_number,
        "CLIENT": alias.client or "",
        "USER": alias.user_name() or "",
        "LANG": alias.language or "",
        "SAPTRACE": "1" if alias.sap_trace else "0",
    }
    if alias.websocket is not None:
        ws = alias.websocket
        parts |= {
            "WSPORT": str(ws.port),
            "CERT": ws.client_certificate or "",
            "ALIAS_USER": ws.alias_user or "",
            "BY_HOSTNAME": "1" if ws.client_by_hostname else "0",
        }
    for name, value in sorted(alias.parsed_options().options.items()):
        if name == "PASSWD":
            continue  # a password never tells one connection from another
        # Other secrets (tickets, certificates) do identify the logon: keep a digest, never the value.
        shown = "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16] if name in SECRET_OPTIONS else value
        parts[f"OPT:{name}"] = mask_router_string(shown) if name in MASKED_OPTIONS else shown
    return " ".join(f'{name}="{value}"' for name, value in parts.items() if value)


def plan_pools(model: Model) -> list[PoolPlan]:
    """The pools a service of ``model`` opens, in the order their first alias is declared."""
    groups: dict[str, list[SAPAlias]] = {}
    for alias in model.aliases:
        groups.setdefault(connection_key(alias), []).append(alias)
    plans = []
    for key, aliases in groups.items():
        sizes = [alias.pool_size for alias in aliases if alias.pool_size is not None]
        size = max(sizes) if sizes else model.composite.sap_pool_size
        plans.append(PoolPlan(key, size, tuple(alias.name for alias in aliases)))
    return plans
