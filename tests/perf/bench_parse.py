"""What reading a request within its limits costs: the service's parse and validation against a bare lxml
parse with a tree validation (no limits), for small to 10 MB requests.

    .venv/bin/python -m tests.perf.bench_parse

Prints milliseconds per request; asserts nothing about time.
"""

from __future__ import annotations

import copy
import tempfile
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.soap.app import _Endpoint
from idocbridge.soap.envelope import parse_request
from tests.perf.bench_hostile import MODEL, SERVICE, txtraw_request


def _per_call(action: Callable[[], object], calls: int) -> float:
    action()
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls * 1000


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="idocbridge-parse-") as temp:
        generate(load_model(MODEL).model, "model.yaml", Path(temp) / "out")
        xsd = (Path(temp) / "out" / SERVICE / "types.xsd").read_text(encoding="utf-8")
    schema = etree.XMLSchema(etree.fromstring(xsd.encode("utf-8")))
    bare = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True)
    endpoint = types.SimpleNamespace(served=types.SimpleNamespace(xsd=xsd), _schemas=threading.local())
    endpoint._schema = lambda: _Endpoint._schema(endpoint)  # type: ignore[arg-type]

    def baseline(body: bytes) -> None:
        payload = etree.fromstring(body, bare)[0][0]
        schema.validate(etree.ElementTree(copy.deepcopy(payload)))

    def service(body: bytes) -> None:
        _Endpoint._validate(endpoint, parse_request(body).payload, "SendTXTRAW")  # type: ignore[arg-type]

    print(f"{'request':>18} {'bare parse + validate':>22} {'within limits':>14}")
    for lines in (3, 1_000, 110_000):
        body = txtraw_request(["x" * 72] * lines)
        calls = max(3, 20_000 // lines)
        before = _per_call(lambda body=body: baseline(body), calls)  # type: ignore[misc]
        after = _per_call(lambda body=body: service(body), calls)  # type: ignore[misc]
        print(f"{len(body):>12,} bytes {before:>19.3f} ms {after:>11.3f} ms")


if __name__ == "__main__":
    main()
