"""TCP service names in connection parameters (MSSERV, GWSERV, a SAProuter's /S/): resolved or refused.

SAP libraries accept a port number or a service name from the services database (``/etc/services``:
``sapms<SID>``, ``sapgw<NN>``, ``sapdp<NN>``). A name the machine cannot resolve fails only when the
first connection is opened, and some libraries report it as a network failure: it is checked here,
when the model is validated, instead.
"""

from __future__ import annotations

import socket
from typing import NamedTuple

__all__ = ["ServiceProblem", "router_service_problem", "service_problem"]

_HINT = "write the port number instead (sapms<SID> is usually 36<NN>, sapgw<NN> 33<NN>, sapdp<NN> 32<NN>)"


class ServiceProblem(NamedTuple):
    """What is wrong with a service, and how to fix it."""

    message: str
    hint: str


def service_problem(value: str, what: str) -> ServiceProblem | None:
    """Why ``value`` cannot be used as the TCP service ``what``, or None when it is a port or a known name."""
    if value.isdigit():
        if 0 < int(value) < 65536:
            return None
        return ServiceProblem(f"{what} {value} is not a TCP port", "write a port number from 1 to 65535")
    try:
        socket.getservbyname(value, "tcp")
    except OSError:
        return ServiceProblem(
            f"{what} '{value}' is neither a port number nor a service name this machine knows (/etc/services)", _HINT
        )
    return None


def router_service_problem(route: str) -> ServiceProblem | None:
    """The problem of the first /S/ service of a SAProuter string that cannot be used, if any."""
    parts = route.split("/")[1:]
    for marker, value in zip(parts[::2], parts[1::2], strict=False):
        if marker.upper() == "S" and (problem := service_problem(value, "SAProuter service")) is not None:
            return problem
    return None
