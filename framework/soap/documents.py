"""What a service publishes besides its answers: the WSDL and schemas, where SOAP toolkits look for them.

- ``GET <service>?wsdl`` (the key in any case: ``?WSDL``) and ``?singleWsdl``: the WSDL, every schema inline
  (one document: the two are the same);
- ``?xsd`` or ``?xsd=types``: the service's own schema; ``?xsd=idoc``: the schema of the requests that hold
  IDoc-XML, in the service's IDoc namespace; ``?xsd=<IDoc type>`` (``?xsd=TXTRAW01``): that type's IDoc-XML
  without a namespace, SAP's WE60 form. An unknown name is answered 404 with the names there are;
- HEAD answers as GET without the body; each document has an ETag (the SHA-256 of what is sent) and a
  Last-Modified (when it was generated), and a request that names either gets 304 Not Modified.

The address in the WSDL is the service's own: ``server.publicUrl`` where set (behind a proxy or a load
balancer), else the scheme and host the request came to. ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` count
only on connections from ``server.trustedProxies``: anyone else could otherwise make the WSDL send clients
elsewhere.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from idocbridge.models.settings import IPNetwork

__all__ = ["PLACEHOLDER_BASE", "Addressing", "Published", "document_response"]

PLACEHOLDER_BASE = "http://localhost:8080"
"""The server written into a generated WSDL's address; the service writes its own in its place when serving."""

_XML = "text/xml; charset=utf-8"
_WSDL_KEYS = ("wsdl", "singlewsdl")


@dataclass(frozen=True)
class Addressing:
    """Where the service says it is: a public URL, or the request's address (forwarded ones from trusted proxies)."""

    public_url: str | None = None
    trusted: tuple[IPNetwork, ...] = ()

    def base(self, request: Request) -> str:
        """The scheme, host and port clients reach the service at (no path)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        scheme, host = request.url.scheme, request.headers.get("host") or request.url.netloc
        if self._from_trusted_proxy(request):
            scheme = _first(request.headers.get("x-forwarded-proto")) or scheme
            host = _first(request.headers.get("x-forwarded-host")) or host
        return f"{scheme}://{host}"

    def _from_trusted_proxy(self, request: Request) -> bool:
        if not self.trusted or request.client is None:
            return False
        try:
            peer = ipaddress.ip_address(request.client.host)
        except ValueError:
            return False
        return any(peer in network for network in self.trusted)


def _first(value: str | None) -> str:
    """The first of a comma-separated forwarded value (the client-facing proxy's), stripped."""
    return (value or "").split(",")[0].strip()


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
        location = f"{addressing.base(request)}{published.path}"
        return _document(request, published.wsdl.replace(published.placeholder, location), published.modified)
    if "xsd" in keys:
        name = next(value for key, value in query if key == "xsd") or "types"
        text = published.schemas.get(name) or _case_insensitive(published.schemas, name)
        if text is None:
            names = ", ".join(f"?xsd={known}" for known in published.schemas)
            return PlainTextResponse(f"service {published.name} has no schema {name!r}; it has {names}\n", 404)
        return _document(request, text, published.modified)
    return PlainTextResponse(f"SOAP service {published.name}: POST SOAP requests here; WSDL at ?wsdl\n")


def _case_insensitive(schemas: dict[str, str], name: str) -> str | None:
    return next((text for known, text in schemas.items() if known.lower() == name.lower()), None)


def _document(request: Request, text: str, modified: datetime) -> Response:
    body = text.encode("utf-8")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(modified.replace(microsecond=0), usegmt=True),
               "Cache-Control": "no-cache"}  # fmt: skip
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
        return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _etag_listed(header: str, etag: str) -> bool:
    tags: Sequence[str] = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags
