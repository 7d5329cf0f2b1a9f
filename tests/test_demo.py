"""``idocbridge demo``, as the README's main job runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_demo_delivers_idocs_and_shows_their_story(tmp_path: Path) -> None:
    result = subprocess.run(
        [Path(sys.executable).parent / "idocbridge", "demo", "--keep", str(tmp_path / "demo")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert "ECHOTEXT 'Hello from idocbridge'" in text
    assert re.search(r"WebSocket RFC wss://127\.0\.0\.1:\d+/sap/bc/rfc", text)
    assert "over WebSocket RFC: " in text and ", 2 tRFC units (ARFC_DEST_SHIP)" in text
    tids = re.findall(r"-> TID ([0-9A-F]{24}), CONFIRMED", text)
    assert len(tids) == 2
    assert text.count("50 64 62 53") == 3, "twice as the simulator holds them, once as the service followed them"
    assert re.search(r"SAP IDoc \d{16}: status 53 Application document posted \(history 50 64 62 53\)", text)
    assert re.search(r"monitor: http://127\.0\.0\.1:\d+/monitor/request/[0-9a-f]{32}$", text, re.MULTILINE)
    log = [line.split()[9] for line in text.splitlines() if tids[0] in line and " SAPRFC " in line]
    io = [entry for entry in log if entry.startswith("IO_")]
    assert io == ["IO_ENTER", "IO_EXIT", "IO_ENTER", "IO_EXIT"]  # submit and confirm, under the TID
    assert log.count("TRANSITION_EXIT") == 3  # TID_ASSIGNED, EXECUTED, CONFIRMED
    assert (tmp_path / "demo" / "service" / "saptRFCClientService" / "service.wsdl").exists()
