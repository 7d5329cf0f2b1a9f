"""An ASGI app served by uvicorn on a thread, on a free port of 127.0.0.1: a real socket for in-process apps.

``serve_app`` is a pytest fixture; a conftest makes it available with ``from tests.served_app import serve_app``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import ASGIApp

from tests.waiting import wait_until

__all__ = ["serve_app"]


class _ServedApp:
    """An ASGI app under uvicorn on a thread, listening on a free port on 127.0.0.1."""

    def __init__(self, app: ASGIApp, **config: Any) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        options: dict[str, Any] = {"log_config": None, "access_log": False, "ws": "none", **config}
        self.server = uvicorn.Server(uvicorn.Config(app, **options))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.listener]}, name=f"uvicorn {self.url}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(), timeout=30, what=f"uvicorn serving {self.url}"
        )
        if not self.server.started:
            pytest.fail(f"uvicorn did not start serving at {self.url} (its thread ended)", pytrace=False)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.listener.close()
        if self.thread.is_alive():
            pytest.fail(f"uvicorn at {self.url} did not stop within 30 s", pytrace=False)


@pytest.fixture
def serve_app() -> Iterator[Callable[..., str]]:
    """``serve_app(app, **uvicorn_config)``: serve ``app`` until the test ends, and return its base URL."""
    served: list[_ServedApp] = []

    def serve(app: ASGIApp, **config: Any) -> str:
        running = _ServedApp(app, **config)
        served.append(running)
        running.start()
        return running.url

    yield serve
    for running in reversed(served):
        running.stop()
