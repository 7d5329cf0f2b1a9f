"""The message server's HTTP interface: which application server serves a logon group.

Load-balanced clients (MSHOST, GROUP) ask ``GET /msgserver/text/logon?version=1.2[&group=NAME]`` and
connect to the ``RFC`` row's host and port; ``/msgserver/text/lglist`` lists the logon groups. The
simulator is one application server, so every group it knows answers with its own gateway. Answers
are tab-separated text in the shape of saprfclib's capture of a NetWeaver 7.58 message server
(``tests/golden/router/ms_http_logon_v12.txt``). Plain HTTP, as SAP's ``ms/server_port_0`` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

__all__ = ["MessageServer", "MessageServerConfig"]

LOGON_PATH = "/msgserver/text/logon"
GROUPS_PATH = "/msgserver/text/lglist"


@dataclass(frozen=True)
class MessageServerConfig:
    """What the message server reports: the system, its one application server, its logon groups."""

    system_id: str
    system_number: str
    host: str
    gateway_port: int
    release: str
    groups: tuple[str, ...] = ("PUBLIC", "SPACE")


class MessageServer:
    """Answers the message server's HTTP requests; every other request gets 404."""

    def __init__(self, config: MessageServerConfig) -> None:
        self.config = config

    async def start(self, host: str, port: int) -> Server:
        return await serve(self._never, host, port, process_request=self._answer, server_header="SAP Message Server")

    async def _never(self, connection: ServerConnection) -> None:
        await connection.close(1008, "the message server speaks HTTP, not WebSocket")

    def _answer(self, connection: ServerConnection, request: Request) -> Response:
        url = urlsplit(request.path)
        if url.path == LOGON_PATH:
            group = parse_qs(url.query).get("group", ["PUBLIC"])[0].upper()
            # A group the system does not have lists no services (assumed: no capture of one exists).
            return connection.respond(HTTPStatus.OK, self._logon(with_services=group in self.config.groups))
        if url.path == GROUPS_PATH:
            lines = [f"{group}\t{self.config.host}\t{3200 + int(self.config.system_number)}\t{self.config.release}"
                     for group in self.config.groups]  # fmt: skip
            return connection.respond(HTTPStatus.OK, "version 1.0\n" + "\n".join(lines) + "\n")
        return connection.respond(HTTPStatus.NOT_FOUND, f"no message server resource at {url.path}\n")

    def _logon(self, *, with_services: bool) -> str:
        config = self.config
        instance = f"{config.host}_{config.system_id}_{config.system_number}"
        rows = [("DIAG", 3200 + int(config.system_number), "LB=1"), ("RFC", config.gateway_port, "")]
        rows = rows if with_services else []
        return f"version 1.2\n{instance}\n" + "".join(
            f"{name}\t{config.host}\t{port}\t{extra}\n" for name, port, extra in rows
        )
