"""saprfclib 0.1.8, unmodified, logs on to the simulator by classic RFC and by WebSocket RFC, and calls it."""

from __future__ import annotations

import pytest

from idocbridge.sapsim.rfc.ddic import layout
from idocbridge.sapsim.rfc.framing import CHUNK_SIZE
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.sapsim.rfc.conftest import counters, logon_parameters, only_over

saprfclib = pytest.importorskip("saprfclib")
from saprfclib.exceptions import AbapApplicationError, CommunicationError, WebSocketError  # noqa: E402

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"

# saprfclib 0.1.8 leaves its socket to the garbage collector when a connection breaks or a logon
# fails; that is the client's leak, not the simulator's.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)


def test_the_gateway_port_is_33nn_of_the_system_number(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    assert sim.info.gateway_port == 3300 + int(sim.info.system_number)
    announced = f"classic RFC on 127.0.0.1:{sim.info.gateway_port} (system number {sim.info.system_number})"
    assert announced in (sim.state / "sim.log").read_text()


def test_logon_names_the_system_and_ping_arrives(sim: SimulatorProcess, transport: str) -> None:
    assert sim.info is not None
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        attributes = connection.get_connection_attributes()
        assert connection.ping() is True
    finally:
        connection.close()
    assert (attributes.sys_id, attributes.sys_number) == ("SIM", sim.info.system_number)
    assert (attributes.codepage, attributes.partner_rel) == ("4103", "758")
    seen = only_over(sim, transport)
    assert seen[f"rfc:{transport}:logons"] == 1
    if transport == "cpic":  # over WebSocket RFC the LOGON itself runs the RFCPING
        assert (attributes.client, attributes.user, seen["rfc:cpic:RFCPING"]) == ("100", "IDOCUSER", 1)


def test_stfc_connection(sim: SimulatorProcess, transport: str) -> None:
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        result = connection.call("STFC_CONNECTION", REQUTEXT="hello over CPIC")
    finally:
        connection.close()
    assert result["ECHOTEXT"] == "hello over CPIC"
    assert "Sysid: SIM" in result["RESPTEXT"] and "Logon_Data: 100/IDOCUSER/E" in result["RESPTEXT"]
    seen = only_over(sim, transport)
    assert (seen[f"rfc:{transport}:STFC_CONNECTION"], seen["calls:STFC_CONNECTION"]) == (1, 1)


def test_a_structure_and_tables(sim: SimulatorProcess, transport: str) -> None:
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        info = connection.call("RFC_SYSTEM_INFO")["RFCSI_EXPORT"]
        connection.call(IDOC, **txtraw("first line", "second line"))
    finally:
        connection.close()
    assert (info["RFCSYSID"], info["RFCSAPRL"], info["RFCCHARTYP"]) == ("SIM", "758", "4103")
    (idoc,) = sim.control.idocs(full=True)
    assert (idoc["idoctyp"], idoc["status"], idoc["sndprn"]) == ("TXTRAW01", "53", "LEGACY")
    assert [(row["SEGNUM"], row["SDATA"].strip()) for row in idoc["data"]] == [
        ("000001", "first line"),
        ("000002", "second line"),
    ]
    assert only_over(sim, transport)[f"rfc:{transport}:{IDOC}"] == 1


def test_an_abap_exception_carries_key_and_text(sim: SimulatorProcess, transport: str) -> None:
    two_controls = txtraw("x")
    two_controls["IDOC_CONTROL_REC_40"] = two_controls["IDOC_CONTROL_REC_40"] * 2
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        with pytest.raises(AbapApplicationError) as raised:
            connection.call(IDOC, **two_controls)
        assert connection.ping() is True  # the connection survives an exception
    finally:
        connection.close()
    assert raised.value.key == "DOCNUM_NOT_UNIQUE"
    assert "distinct DOCNUM" in str(raised.value)
    assert sim.control.idocs() == []
    assert only_over(sim, transport)[f"rfc:{transport}:{IDOC}"] == 1


def test_a_function_off_the_allowlist_is_a_system_failure(sim: SimulatorProcess, transport: str) -> None:
    connection = saprfclib.connect(**logon_parameters(sim, user="READER", transport=transport))
    try:
        with pytest.raises(AbapApplicationError) as raised:
            connection.call(IDOC, **txtraw("not for READER"))
    finally:
        connection.close()
    # SYSTEM_FAILURE travels as message type X (class 00, number 341); saprfclib raises it as an
    # application error of type X, erpl-pyrfc as ABAPRuntimeError.
    assert (raised.value.key, raised.value.msg_type, raised.value.msg_number) == ("RFC_NO_AUTHORITY", "X", "341")
    assert "not on the allowlist of user READER" in str(raised.value)
    assert sim.control.idocs() == []
    assert only_over(sim, transport)[f"rfc:{transport}:{IDOC}"] == 1


def test_a_wrong_password_is_refused(sim: SimulatorProcess) -> None:
    # saprfclib 0.1.8 raises a plain ValueError for a refused logon, with SAP's text.
    with pytest.raises(ValueError, match=r"logon failed: Name or password is incorrect \(repeat logon\)"):
        saprfclib.connect(**logon_parameters(sim, password="wrong"))
    assert "rfc:cpic:logons" not in counters(sim)
    connection = saprfclib.connect(**logon_parameters(sim))  # the gateway carries on
    connection.close()
    assert counters(sim)["rfc:cpic:logons"] == 1


def test_faults_apply_to_real_rfc(sim: SimulatorProcess, transport: str) -> None:
    sim.control.add_fault("abap_exception", function="STFC_CONNECTION", key="SIM_FAULT", message="injected")
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        with pytest.raises(AbapApplicationError) as raised:
            connection.call("STFC_CONNECTION", REQUTEXT="x")
        sim.control.add_fault("drop_before", function="STFC_CONNECTION")
        with pytest.raises((CommunicationError, WebSocketError)):
            connection.call("STFC_CONNECTION", REQUTEXT="x")
    finally:
        connection.close()
    assert (raised.value.key, raised.value.message) == ("SIM_FAULT", "injected")
    assert "calls:STFC_CONNECTION" not in counters(sim)
    sim.control.add_fault("drop_after", function="STFC_CONNECTION")
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        with pytest.raises((CommunicationError, WebSocketError)):
            connection.call("STFC_CONNECTION", REQUTEXT="x")
    finally:
        connection.close()
    seen = only_over(sim, transport)
    assert (seen["calls:STFC_CONNECTION"], seen[f"rfc:{transport}:STFC_CONNECTION"]) == (1, 3)  # it ran once


def test_refused_connections_and_logons(sim: SimulatorProcess) -> None:
    sim.control.add_fault("refuse_connections")
    with pytest.raises(ConnectionResetError):
        saprfclib.connect(**logon_parameters(sim))
    sim.control.add_fault("refuse_logon")
    with pytest.raises(ValueError, match="logon refused by the simulator"):
        saprfclib.connect(**logon_parameters(sim))
    assert "rfc:cpic:logons" not in counters(sim)


def test_a_reply_over_several_frames(sim: SimulatorProcess) -> None:
    if "ORDERS05" not in str(sim.parser_files):
        pytest.skip("ORDERS05 (shared test data) is not loaded")
    connection = saprfclib.connect(**logon_parameters(sim))
    try:
        answer = connection.call("IDOCTYPE_READ_COMPLETE", PI_IDOCTYP="ORDERS05")
    finally:
        connection.close()
    assert len(answer["PT_FIELDS"]) * layout("EDI_IAPI02").uc_size > 3 * CHUNK_SIZE
    assert (answer["PE_HEADER"]["IDOCTYP"], answer["PT_SEGMENTS"][0]["SEGMENTTYP"]) == ("ORDERS05", "E1EDK01")


def test_a_unit_shipped_without_its_call_is_refused_and_nothing_is_delivered(
    sim: SimulatorProcess, transport: str, request: pytest.FixtureRequest
) -> None:
    if transport == "wrfc":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=WebSocketError,
                reason="saprfclib 0.1.8 sends ARFC_DEST_SHIP over WebSocket RFC inside a classic gateway header "
                "(type 06cb); a WebSocket RFC message is the bare TLV stream, so the simulator closes the "
                "connection with 1002 naming the record it cannot read",
            )
        )
    # saprfclib 0.1.8 ships ARFCTID and ARFCFNAM but not the call's parameters (no STATE, no DATA).
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        connection.ping()  # over WebSocket RFC, saprfclib 0.1.8 logs on at the first call, which create_tid is not
        tid = connection.create_tid()
        with pytest.raises(AbapApplicationError) as raised:
            connection.call_transactional(IDOC, tid=tid, **txtraw("never sent"))
        connection.confirm_tid(tid)
    finally:
        connection.close()
    assert raised.value.key == "UNIT_WITHOUT_CALL"
    assert "the unit carries no call; nothing was executed" in str(raised.value)
    events = sim.control.command("inspect.events", tid=tid)
    assert [(e["event"], e["function"]) for e in events] == [("CONFIRMED_UNKNOWN", None)]
    assert sim.control.idocs() == []
    assert only_over(sim, transport)[f"rfc:{transport}:ARFC_DEST_SHIP"] == 1


def test_a_long_request(sim: SimulatorProcess, transport: str) -> None:
    lines = [f"segment {number}" for number in range(1, 201)]
    connection = saprfclib.connect(**logon_parameters(sim, transport=transport))
    try:
        connection.call(IDOC, **txtraw(*lines))
    finally:
        connection.close()
    (idoc,) = sim.control.idocs(full=True)
    assert (idoc["status"], idoc["segments"]) == ("53", 200)
    assert [row["SDATA"].strip() for row in idoc["data"]] == lines


@pytest.mark.parametrize(
    ("user", "password", "client"),
    [("IDOCUSER", "wrong", "100"), ("NOBODY", "idocbridge", "100"), ("IDOCUSER", "idocbridge", "999")],
)
def test_websocket_rfc_refuses_a_bad_logon_at_the_upgrade(
    sim: SimulatorProcess, wrfc: str, user: str, password: str, client: str
) -> None:
    parameters = logon_parameters(sim, user, password, wrfc) | {"client": client}
    with pytest.raises(WebSocketError, match="HTTP status 401"):
        saprfclib.connect(**parameters).ping()
    seen = counters(sim)
    assert [name for name in seen if name.startswith("rfc:")] == []  # and no fallback to classic RFC


def test_websocket_rfc_faults_refuse_the_upgrade(sim: SimulatorProcess, wrfc: str) -> None:
    sim.control.add_fault("refuse_connections")
    with pytest.raises(WebSocketError, match="HTTP status 503"):
        saprfclib.connect(**logon_parameters(sim, transport=wrfc)).ping()
    assert [name for name in counters(sim) if name.startswith("rfc:")] == []
