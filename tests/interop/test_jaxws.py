"""JAX-WS (Java): wsimport generates the client classes from each served WSDL, javac compiles them with the
clients in tests/interop/java, and those call every operation of both examples, the simulator behind.

wsimport and the JAX-WS runtime come from Debian's ``jaxws`` package (the JDK from the machine); .ci/run
installs it. Where it is missing the tests skip, saying so.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from idocbridge.idoc import TXTRAW01
from idocbridge.idoc.flat import write_flat_idoc
from idocbridge.idoc.idoc_xml import idoc_from_element
from idocbridge.idoc.tables import idoc_to_records
from tests.soap.example_service import IDOC_SERVICE, SERVICE, served_example, served_idoc_example
from tests.waiting import wait_until

CLIENTS = Path(__file__).resolve().parent / "java"
JARS = Path("/usr/share/java")
CLASSPATH = f"{JARS}/*"
MISSING = next(
    (f"{tool} is not installed (Debian's jaxws package and a JDK: apt-get install jaxws; .ci/run installs it)"
     for tool in ("wsimport", "javac", "java") if shutil.which(tool) is None),
    None if (JARS / "jaxws-rt.jar").exists() else f"{JARS / 'jaxws-rt.jar'} is missing (Debian's jaxws package)",
)  # fmt: skip

pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


@dataclass
class JavaClient:
    """A compiled JAX-WS client of one served service, and the simulator behind the service."""

    sim: Any
    wsdl: str
    classes: Path
    main: str

    def call(self, operation: str, argument: str, message_id: str | None = None) -> str:
        """What the client printed for ``operation`` (a fault: "FAULT code reason")."""
        command = ["java", "-cp", f"{self.classes}:{CLASSPATH}", self.main, self.wsdl, operation,
                   message_id or f"java-{uuid.uuid4().hex}", argument]  # fmt: skip
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
        assert result.returncode in (0, 3), result.stderr[-3000:]
        return result.stdout.strip()


def _compiled(wsdl: str, client: str, work: Path) -> Path:
    """wsimport's classes for ``wsdl`` and the client ``client`` compiled into ``work/classes``."""
    sources, classes = work / "src", work / "classes"
    sources.mkdir(parents=True)
    generated = subprocess.run(["wsimport", "-keep", "-Xnocompile", "-XadditionalHeaders", "-d", str(sources), wsdl],
                               check=False, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "[ERROR]" not in generated.stdout, generated.stdout
    files = [str(path) for path in sources.rglob("*.java")] + [str(CLIENTS / client)]
    compiled = subprocess.run(["javac", "-nowarn", "-cp", CLASSPATH, "-d", str(classes), *files],
                              check=False, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    return classes


@pytest.fixture(scope="module")
def trfc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JavaClient]:
    root = tmp_path_factory.mktemp("jaxws-trfc")
    with served_example(root / "served") as (sim, service):
        wsdl = service.wsdl_url(SERVICE)
        classes = _compiled(wsdl, "TrfcClientServiceClient.java", root / "java")
        yield JavaClient(sim, wsdl, classes, "TrfcClientServiceClient")


@pytest.fixture(scope="module")
def idoc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JavaClient]:
    root = tmp_path_factory.mktemp("jaxws-idoc")
    (root / "served").mkdir()
    with served_idoc_example(root / "served") as served:
        wsdl = served.service.wsdl_url(IDOC_SERVICE)
        classes = _compiled(wsdl, "IDocServiceClient.java", root / "java")
        yield JavaClient(served.sim, wsdl, classes, "IDocServiceClient")


def _delivered(client: JavaClient, operation: str, argument: str, sender: str) -> dict[str, Any]:
    """The one IDoc ``operation`` delivered (sent again with its MessageId until its receipt says CONFIRMED)."""
    message_id = f"java-{uuid.uuid4().hex}"
    receipt = wait_until(lambda: (line := client.call(operation, argument, message_id)).endswith(" CONFIRMED") and line,
                         what=f"{operation}'s receipt saying CONFIRMED")  # fmt: skip
    _, tid, _ = receipt.split()
    (found,) = client.sim.control.idocs(tid=tid, full=True)
    assert (found["sndprn"], found["status"]) == (sender, "53")
    assert isinstance(found, dict)
    return found


def test_test_simple_types_answers_java_with_the_echo_and_sap_response(trfc: JavaClient) -> None:
    echo, _, response = trfc.call("TestSimpleTypes", "Hello from JAX-WS").partition("|")
    assert echo == "Hello from JAX-WS" and "Sysid: SIM" in response


def test_send_txtraw_from_java_delivers_its_line(trfc: JavaClient) -> None:
    found = _delivered(trfc, "SendTXTRAW", "JAVATXT:a line from JAX-WS", "JAVATXT")
    assert [record["SDATA"] for record in found["data"]] == ["a line from JAX-WS"]


def test_send_any_idoc_from_java_delivers_its_record(trfc: JavaClient) -> None:
    found = _delivered(trfc, "SendAnyIDoc", "JAVAANY:a record from JAX-WS", "JAVAANY")
    assert [record["SDATA"] for record in found["data"]] == ["a record from JAX-WS"]


def test_a_partner_too_long_is_a_client_fault_naming_it(trfc: JavaClient) -> None:
    answer = trfc.call("SendTXTRAW", "JAVATOOLONGPARTNER:x")
    assert answer.startswith("FAULT Client ") and "senderPartner" in answer and "(transaction " in answer


def test_send_text_idoc_from_java_travels_as_sap_idoc_xml(idoc: JavaClient) -> None:
    found = _delivered(idoc, "SendTextIDoc", "JAVATYPED:typed, from JAX-WS", "JAVATYPED")
    assert [record["SDATA"] for record in found["data"]] == ["typed, from JAX-WS"]


def _document(partner: str, line: str) -> etree._Element:
    control = {"TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW", "SNDPOR": "LEGACY",
               "SNDPRT": "LS", "SNDPRN": partner, "RCVPOR": "SAPSIM", "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in control.items())
    return etree.fromstring(f'<TXTRAW01><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">{fields}</EDI_DC40>'
                            f'<E1TXTRW SEGMENT="1"><TLINE>{line}</TLINE></E1TXTRW></IDOC></TXTRAW01>')  # fmt: skip


def test_send_idoc_xml_from_java_takes_a_dom_element(idoc: JavaClient, tmp_path: Path) -> None:
    path = tmp_path / "txtraw01.xml"
    path.write_bytes(etree.tostring(_document("JAVAANYXML", "any type, from JAX-WS")))
    found = _delivered(idoc, "SendIDocXML", str(path), "JAVAANYXML")
    assert [record["SDATA"] for record in found["data"]] == ["any type, from JAX-WS"]


def test_send_flat_idoc_from_java_takes_the_files_text(idoc: JavaClient, tmp_path: Path) -> None:
    text = io.StringIO()
    write_flat_idoc(text, idoc_to_records(idoc_from_element(_document("JAVAFLAT", "flat, from JAX-WS")[0],
                                                            "TXTRAW01"), TXTRAW01))  # fmt: skip
    path = tmp_path / "txtraw01.txt"
    path.write_text(text.getvalue(), encoding="utf-8")
    found = _delivered(idoc, "SendFlatIDoc", str(path), "JAVAFLAT")
    assert [record["SDATA"] for record in found["data"]] == ["flat, from JAX-WS"]


def test_a_segment_value_too_long_is_a_client_fault_naming_the_field(idoc: JavaClient) -> None:
    answer = idoc.call("SendTextIDoc", "JAVALONG:" + "x" * 73)
    assert answer.startswith("FAULT Client ") and "TLINE" in answer and "(transaction " in answer
