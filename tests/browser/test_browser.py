"""The browser set-up itself: Chromium opens a page that a local Starlette app serves, a click runs the page's
script (which asks the app again), and a screenshot of the result is left with the test artefacts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>idocbridge browser smoke test</title>
<style>body { font-family: sans-serif; margin: 2em; } #status { font-size: 1.5em; }</style></head>
<body>
<h1>idocbridge browser smoke test</h1>
<p id="status">waiting for a click</p>
<button id="confirm" type="button">Confirm IDoc 4711</button>
<script>
document.getElementById("confirm").addEventListener("click", async () => {
  const answer = await fetch("/api/confirm", { method: "POST" });
  const { docnum, status } = await answer.json();
  document.getElementById("status").textContent = `IDoc ${docnum}: status ${status}`;
});
</script>
</body>
</html>
"""


def _app() -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def confirm(request: Request) -> JSONResponse:
        return JSONResponse({"docnum": "4711", "status": "53"})

    return Starlette(routes=[Route("/", index), Route("/api/confirm", confirm, methods=["POST"])])


def test_a_click_changes_the_page_and_a_screenshot_is_saved(
    page: Page, serve_app: Callable[..., str], screenshot: Callable[..., Path]
) -> None:
    url = serve_app(_app())
    page.goto(url)
    expect(page).to_have_title("idocbridge browser smoke test")
    status = page.locator("#status")
    expect(status).to_have_text("waiting for a click")

    page.get_by_role("button", name="Confirm IDoc 4711").click()

    expect(status).to_have_text("IDoc 4711: status 53")
    saved = screenshot("smoke")
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
