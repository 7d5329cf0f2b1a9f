"""What a service publishes besides its answers: the WSDL and schemas, where SOAP toolkits look for them.

- ``GET <service>?wsdl`` (the key in any case: ``?WSDL``) and ``?singleWsdl``: the WSDL, every schema inline
  (one document: the two are the same);
- ``?xsd`` or ``?xsd=types``: the service's own schema; ``?xsd=idoc``: the schema of the requests that hold
  IDoc-XML, in the service's IDoc namespace; ``?xsd=<IDoc type>`` (``?xsd=TXTRAW01``): that type's IDoc-XML
  without a namespace, SAP's WE60 form. An unknown name is answered 404 with the names there are;
- HEAD answers as GET without the body; each document has an ETag (the SHA-256 of what is sent) and a
  Last-Modified (when the service started), and a request that names either gets 304 Not Modified.

The address in the WSDL is the service's own: ``server.publicUrl`` where set (behind a proxy or a load
balancer), else the scheme and host the request came to (a Host header that is no host and port is not used).
``X-Forwarded-Proto`` and ``X-Forwarded-Host`` count only on connections from ``server.trustedProxies``, and
only their last value, the one that proxy set: anyone else could otherwise make the WSDL send clients
elsewhere. The address is escaped into the WSDL, and answers say which request headers they vary by.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from idocbridge.models.settings import IPNetwork

__all__ = ["PLACEHOLDER_BASE", "Addressing", "Published", "document_response"]

PLACEHOLDER_BASE = "http://localhost:8080"
"""The server written into a generated WSDL's address; the service writes its own in its place when serving."""

_XML = "text/xml; charset=utf-8"
_WSDL_KEYS = ("wsdl", "singlewsdl")


_AUTHORITY = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
"""A host (a name, an IPv4 address or an IPv6 one in brackets) and an optional port: nothing else of a URL."""
_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Addressing:
    """Where the service says it is: a public URL, or the request's address (forwarded ones from trusted proxies)."""

    public_url: str | None = None
    trusted: tuple[IPNetwork, ...] = ()

    def base(self, request: Request) -> str:
        """The scheme, host and port clients reach the service at (no path).

        A Host header that is no host and port is not used (the address the connection came to is); from a
        trusted proxy, X-Forwarded-Proto counts if it is http or https and X-Forwarded-Host if it is a host and
        port, each its last value (the one the proxy itself set)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        scheme, host = request.url.scheme, _authority(request.headers.get("host")) or _socket_address(request)
        if self._from_trusted_proxy(request):
            forwarded = _last(request.headers.get("x-forwarded-proto")).lower()
            scheme = forwarded if forwarded in _SCHEMES else scheme
            host = _authority(_last(request.headers.get("x-forwarded-host"))) or host
        return f"{scheme}://{host}"

    def vary(self) -> dict[str, str]:
        """The request headers a document's address depends on (for caches)."""
        if self.public_url is not None:
            return {}
        return {"Vary": "Host, X-Forwarded-Host, X-Forwarded-Proto" if self.trusted else "Host"}

    def _from_trusted_proxy(self, request: Request) -> bool:
        if not self.trusted or request.client is None:
            return False
        try:
            peer = ipaddress.ip_address(request.client.host)
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped  # ::ffff:10.0.0.5 is 10.0.0.5
        return any(peer in network for network in self.trusted)


def _authority(value: str | None) -> str | None:
    """``value`` if it is a host and an optional port, else None."""
    value = (value or "").strip()
    return value if _AUTHORITY.fullmatch(value) else None


def _socket_address(request: Request) -> str:
    """The address and port the request's connection came to."""
    server = request.scope.get("server") or ("localhost", None)
    host, port = server[0], server[1]
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _last(value: str | None) -> str:
    """The last of a comma-separated forwarded value (the one the proxy next to the service set), stripped."""
    return (value or "").split(",")[-1].strip()


@dataclass(frozen=True)
class Published:
    """A service's documents: the WSDL (its address written as ``placeholder``) and its schemas by name."""

    name: str
    path: str
    wsdl: str
    placeholder: str
    schemas: dict[str, str]
    """``types`` (the service's schema) first, then ``idoc`` and the IDoc types, as the service has them."""
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))


def document_response(request: Request, published: Published, addressing: Addressing) -> Response:
    """The answer to a GET or HEAD of the service's URL."""
    query = [(key.lower(), value) for key, value in parse_qsl(request.url.query, keep_blank_values=True)]
    keys = [key for key, _ in query]
    if any(key in _WSDL_KEYS for key in keys):
        location = escape(f"{addressing.base(request)}{published.path}", {'"': "&quot;"})
        wsdl = published.wsdl.replace(published.placeholder, location)
        return _document(request, wsdl, published.modified, addressing.vary())
    if "xsd" in keys:
        name = next(value for key, value in query if key == "xsd") or "types"
        text = published.schemas.get(name) or _case_insensitive(published.schemas, name)
        if text is None:
            names = ", ".join(f"?xsd={known}" for known in published.schemas)
            return PlainTextResponse(f"service {published.name} has no schema {name!r}; it has {names}\n", 404)
        return _document(request, text, published.modified, {})
    return PlainTextResponse(f"SOAP service {published.name}: POST SOAP requests here; WSDL at ?wsdl\n")


def _case_insensitive(schemas: dict[str, str], name: str) -> str | None:
    return next((text for known, text in schemas.items() if known.lower() == name.lower()), None)


def _document(request: Request, text: str, modified: datetime, vary: dict[str, str]) -> Response:
    body = text.encode("utf-8")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(modified.replace(microsecond=0), usegmt=True),
               "Cache-Control": "no-cache", **vary}  # fmt: skip
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(b"" if request.method == "HEAD" else body, media_type=_XML,
                    headers=headers | {"Content-Length": str(len(body))})  # fmt: skip


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """Whether the client's copy is current (RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins)."""
    matches = request.headers.get("if-none-match")
    if matches is not None:
        return _etag_listed(matches, etag)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        client = parsedate_to_datetime(since)
        return modified.replace(microsecond=0) <= client <= datetime.now(UTC)  # a date to come is no date
    except (TypeError, ValueError):
        return False


def _etag_listed(header: str, etag: str) -> bool:
    tags: Sequence[str] = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags
