"""Schema validation from many threads at once: each request's fault quotes its own errors only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.soap.app import _Endpoint
from idocbridge.soap.faults import SoapFault
from tests.conftest import EXAMPLES
from tests.soap.example_service import NS, SERVICE


def test_threads_validating_at_once_never_see_each_others_errors(tmp_path: Path) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    xsd = (tmp_path / "out" / SERVICE / "types.xsd").read_text(encoding="utf-8")
    endpoint = SimpleNamespace(served=SimpleNamespace(xsd=xsd), _schemas=threading.local())
    endpoint._schema = lambda: _Endpoint._schema(endpoint)  # type: ignore[arg-type]

    def errors_of(number: int) -> list[str]:
        payload = etree.fromstring(
            f'<t:TestSimpleTypes xmlns:t="{NS}"><t:requestText>x</t:requestText>'
            + f"<t:n{number:04d}/>" * 5
            + "</t:TestSimpleTypes>"
        )
        with pytest.raises(SoapFault) as refused:
            _Endpoint._validate(endpoint, payload, "TestSimpleTypes")  # type: ignore[arg-type]
        return refused.value.errors

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(errors_of, range(2_000)))
    for number, errors in enumerate(results):
        assert errors and all(f"n{number:04d}" in error for error in errors), (number, errors[:2])
