"""WebSocket RFC with a trusted CA file, a client certificate and a read timeout.

saprfclib 0.1.8's ``connect(wshost=...)`` verifies the server against the system trust store only,
presents no client certificate and reads without a timeout, although its transport
(``saprfclib.ws.connect_ws``) takes all three. This module opens the transport with them and logs on
as ``connect`` does (``Connection._ws_handshake``, the one private call); every WebSocket RFC
connection of the saprfc connector goes through it. With a client certificate and no password, the
upgrade carries no Basic credentials and the system logs on the certificate's user. Drop this module
when ``connect`` takes ``ca_bundle``, ``client_cert``, ``client_key`` and ``read_timeout``.
"""

from __future__ import annotations

from typing import Any

from saprfclib.connection import Connection
from saprfclib.metadata import MetadataCache
from saprfclib.ws import connect_ws

from idocbridge.connectors.saprfc_params import SaprfcArguments

__all__ = ["open_websocket"]

_DEFAULT_PATH = "/sap/bc/rfc?sap-apc-stateful=true"


def open_websocket(arguments: SaprfcArguments, timeout: float | None, metadata: MetadataCache | None = None) -> Any:
    """A saprfclib ``Connection`` over WebSocket RFC, with the alias's CA (else the system's trust store),
    client certificate, and ``timeout`` for the connect and every read."""
    keywords = arguments.keywords
    user, password = keywords.get("user"), keywords.get("passwd")
    language = str(keywords.get("lang", "E"))
    transport = connect_ws(
        str(keywords["wshost"]),
        int(keywords.get("wsport", 443)),
        ws_path=_DEFAULT_PATH,
        user=user if password is not None else None,
        passwd=password,
        sap_client=keywords.get("client"),
        lang=language,
        timeout=timeout,
        read_timeout=timeout,
        ca_bundle=str(arguments.trusted_ca) if arguments.trusted_ca else None,
        client_cert=str(arguments.client_certificate) if arguments.client_certificate else None,
        client_key=str(arguments.client_key) if arguments.client_key else None,
    )
    connection = Connection(transport, strict_params=True, metadata_cache=metadata)  # type: ignore[arg-type]
    try:
        connection._ws_handshake(
            client=str(keywords.get("client", "")), user=str(user or ""), passwd=str(password or ""), lang=language
        )
    except BaseException:
        connection.close()
        raise
    return connection
