"""The web monitor in a real browser, as an integration person uses it.

examples/idoc_service is served with the simulator (both processes), with an operation that names the order
number (E1EDK01-BELNR) as a business key and two monitor users: a viewer and an operator. Chromium finds an
order by its number, opens its page (sequence diagram, IDoc tree, status 53 in SAP), and retries a failed
entry as the operator after the viewer was refused. Each page is saved as a screenshot in the test artefacts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zeep
from lxml import etree
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import EXAMPLES, SHARED
from tests.soap.example_service import Served, served_idoc_example

ORDERS05_PARSER = SHARED / "testdata" / "external" / "PeterXyp__sapidoc" / "src" / "test" / "resources" / "ORDERS05.txt"
ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"
ORDER_NUMBER = "PO-2026-000417"

pytestmark = pytest.mark.skipif(
    not ORDERS05_PARSER.exists(),
    reason=f"{ORDERS05_PARSER} is absent (the shared test data is not next to this checkout)",
)

SEND_ORDER = """          - name: SendOrder
            idoc:
              format: xml
            businessKeys: E1EDK01-BELNR
            activity: *deliver
"""
MONITOR = """monitor:
  users:
    - name: vera
      password: ${MONITOR_VIEWER_PASSWORD}
      role: viewer
    - name: otto
      password: ${MONITOR_OPERATOR_PASSWORD}
      role: operator
"""
PASSWORDS = {"MONITOR_VIEWER_PASSWORD": "viewer-secret-1", "MONITOR_OPERATOR_PASSWORD": "operator-secret-2"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("monitor")
    with served_idoc_example(root, operations=SEND_ORDER, parser_files=[ORDERS05_PARSER], settings=MONITOR,
                             environment=PASSWORDS) as running:  # fmt: skip
        yield running


def _order(number: str) -> etree._Element:
    text = ORDERS05_XML.read_text(encoding="utf-8").split("-->", 1)[1]
    return etree.fromstring(text.replace(ORDER_NUMBER, number).encode("utf-8"))


def _login(browser: Browser, user: str, password: str) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  http_credentials={"username": user, "password": password})  # fmt: skip
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def viewer(browser: Browser) -> Iterator[Page]:
    context = _login(browser, "vera", PASSWORDS["MONITOR_VIEWER_PASSWORD"])
    yield context.new_page()
    context.close()


@pytest.fixture
def operator(browser: Browser) -> Iterator[Page]:
    context = _login(browser, "otto", PASSWORDS["MONITOR_OPERATOR_PASSWORD"])
    yield context.new_page()
    context.close()


def _search(page: Page, text: str) -> None:
    page.get_by_role("searchbox", name="Find a request").fill(text)
    page.get_by_role("button", name="Find").click()


def test_an_order_is_found_by_its_number_with_its_diagram_idoc_tree_and_status_53(
    served: Served, viewer: Page, screenshot: Callable[..., Path]
) -> None:
    number = f"PO-{uuid.uuid4().hex[:8].upper()}"
    served.client.service.SendOrder(_order(number))
    viewer.goto(f"{served.service.url}/monitor/")
    expect(viewer.get_by_role("heading", name="Requests, newest first")).to_be_visible()
    expect(viewer.locator("#health")).to_contain_text("ERP_IDOC_INBOUND")
    # the list and the health tiles update without a reload: the order's status in SAP arrives, and the request
    # is counted in the last hour once the log has written it
    expect(viewer.locator("#requests tbody tr").first).to_contain_text("53", timeout=60_000)
    expect(viewer.locator("#health .big")).not_to_have_text("0", timeout=60_000)
    expect(viewer.locator("#groups")).to_contain_text("53 Application document posted", timeout=60_000)
    screenshot("monitor-overview", target=viewer)

    _search(viewer, number)
    expect(viewer).to_have_url(re.compile(r"/monitor/request/[0-9a-f]{32}$"))
    assert number not in viewer.url, "business data stays out of URLs"
    expect(viewer.locator("table.keys")).to_contain_text(number)
    # the status in SAP arrives by itself (the page updates without a reload) once SAP has posted the IDoc
    expect(viewer.locator("table.sap")).to_contain_text("53 Application document posted", timeout=60_000)
    diagram = viewer.locator("svg.sequence")
    expect(diagram).to_contain_text("SendOrder")
    expect(diagram).to_contain_text("submit")
    expect(diagram).to_contain_text("INBOUND_IDOCS_FOR_TID")
    tree = viewer.locator("#idoc")
    expect(tree.locator(".segnam", has_text="E1EDK01").first).to_be_visible()
    expect(tree.locator("table.fields tr", has_text="BELNR").first).to_contain_text(number)
    expect(tree).to_contain_text("IDOC document number")  # field texts from the IDoc type's metadata
    screenshot("monitor-request", target=viewer)
    history = viewer.locator("ol.history li")
    expect(history).to_have_count(4)
    expect(history.last).to_contain_text("53")


def test_a_failed_entry_is_refused_to_a_viewer_and_retried_by_an_operator(
    served: Served, viewer: Page, operator: Page, screenshot: Callable[..., Path]
) -> None:
    number = f"PO-{uuid.uuid4().hex[:8].upper()}"
    served.sim.control.add_fault("refuse_idoc", function="ORDERS", key="IDOC_REFUSED", count=None)
    try:
        with pytest.raises(zeep.exceptions.Fault, match="SAP refused the call"):
            served.client.service.SendOrder(_order(number))
        viewer.goto(f"{served.service.url}/monitor/")
        _search(viewer, number)
        expect(viewer.locator("#state")).to_have_text("FAILED", timeout=60_000)
    finally:
        served.sim.control.clear_faults()
    expect(viewer.get_by_role("button", name="Retry now")).to_have_count(0)
    expect(viewer.get_by_text("Retry and cancel need the operator role.")).to_be_visible()
    page_url = viewer.url
    # a viewer who sends the form anyway (here: by the operator's page's form, posted with the viewer's login)
    refused = viewer.request.post(f"{page_url}/retry", form={"token": "0" * 64})
    assert refused.status == 403
    assert "is a viewer" in refused.text()
    screenshot("monitor-failed-as-viewer", target=viewer)

    operator.goto(page_url)
    expect(operator.locator("#state")).to_have_text("FAILED")
    screenshot("monitor-failed-as-operator", target=operator)
    operator.get_by_role("button", name="Retry now").click()
    expect(operator.get_by_role("status")).to_contain_text("Retried")
    expect(operator.locator("#state")).to_have_text("CONFIRMED", timeout=60_000)
    expect(operator.locator("table.sap")).to_contain_text("53", timeout=60_000)
    # the transaction log says who retried it, and the diagram shows it (it updates without a reload)
    expect(operator.locator("svg.sequence")).to_contain_text("retry by otto")
    screenshot("monitor-retried", target=operator)


def test_a_key_many_requests_share_lists_them_and_says_how_to_narrow_it_down(
    served: Served, viewer: Page, screenshot: Callable[..., Path]
) -> None:
    for _ in range(2):
        served.client.service.SendOrder(_order(f"PO-{uuid.uuid4().hex[:8].upper()}"))
    viewer.goto(f"{served.service.url}/monitor/")
    _search(viewer, "SHOPSYS")  # the sender partner of every order
    expect(viewer.get_by_role("heading", name="Search")).to_be_visible()
    expect(viewer.get_by_text("Found as SNDPRN")).to_be_visible()
    assert viewer.locator("table.list tbody tr").count() >= 2
    expect(viewer.get_by_text("NAME=VALUE")).to_be_visible()
    screenshot("monitor-search", target=viewer)
    viewer.locator("table.list tbody tr a").first.click()
    expect(viewer).to_have_url(re.compile(r"/monitor/request/[0-9a-f]{32}$"))


def test_without_credentials_the_monitor_asks_for_them(served: Served, browser: Browser) -> None:
    context = browser.new_context()
    try:
        response = context.request.get(f"{served.service.url}/monitor/")
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        wrong = browser.new_context(http_credentials={"username": "vera", "password": "wrong"})
        assert wrong.request.get(f"{served.service.url}/monitor/").status == 401
        wrong.close()
    finally:
        context.close()
