"""The wire format's pure parts, checked against saprfclib's client-side parser and known frames."""

from __future__ import annotations

import struct

import pytest
from saprfclib.exceptions import AbapApplicationError
from saprfclib.invoke import parse_invoke_response, raise_for_rfc_error
from saprfclib.types import RFC_CHANGING, RFC_EXPORT, RFC_IMPORT, RFC_TABLES, FunctionDesc

from idocbridge.sapsim.functions import Parameter
from idocbridge.sapsim.rfc import codec, framing, handshake, logon
from idocbridge.sapsim.rfc.tlv import ProtocolError, record, text, walk


@pytest.mark.parametrize(
    ("scrambled", "password"),
    [
        ("78793db3e8", "P"),  # erpl-pyrfc's logon frame for passwd "P"
        ("67f9792deb7b63f9aa42", "secret"),  # saprfclib's logon frame for passwd "secret"
    ],
)
def test_password_records_of_both_clients_unscramble(scrambled: str, password: str) -> None:
    assert logon.unscramble(bytes.fromhex(scrambled)) == password


def test_walk_reads_records_and_tolerates_missing_close_tags() -> None:
    stream = record(0x0102, text("STFC")) + struct.pack(">HH", 0x0201, 2) + b"AB" + record(0xFFFF) + b"footer"
    assert walk(stream) == [(0x0102, text("STFC")), (0x0201, b"AB")]


@pytest.mark.parametrize(
    ("stream", "problem"),
    [
        (struct.pack(">HH", 0x0203, 100) + b"short", "record 0203 at byte 0 claims 100 bytes; only 5 follow"),
        (struct.pack(">HHH", 0x0203, 0xFFFF, 1), "record 0203 at byte 0: its extended length is cut off"),
        (record(0x0502), "the TLV stream ends at byte 6 without its terminator"),
    ],
)
def test_walk_refuses_what_overruns_its_buffer(stream: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        walk(stream)


def test_a_success_reply_reads_back_with_saprfclibs_parser() -> None:
    parameters = (
        Parameter("I", "REQUTEXT", "CHAR(255)"),
        Parameter("E", "ECHOTEXT", "CHAR(10)"),
        Parameter("C", "COUNTER", "INT4"),
        Parameter("T", "ROWS", "EDI_DD40"),
    )
    reply = codec.success(parameters, {"ECHOTEXT": "hi", "COUNTER": 7, "ROWS": [{"SEGNAM": "E1"}]}, "SAPLTEST")
    raise_for_rfc_error(reply)  # a success is not an error
    directions = {"I": RFC_IMPORT, "E": RFC_EXPORT, "C": RFC_CHANGING, "T": RFC_TABLES}
    fields = []
    for parameter in parameters:
        field = codec.field_descriptor(parameter)
        field.direction = directions[parameter.param_class]
        fields.append(field)
    values = parse_invoke_response(reply, FunctionDesc("Z_TEST", fields))
    assert (values["ECHOTEXT"], values["COUNTER"]) == ("hi", 7)
    assert values["ROWS"][0]["SEGNAM"] == "E1"


def test_an_exception_reply_reads_back_as_saprfclibs_application_error() -> None:
    reply = codec.abap_exception("FU_NOT_FOUND", "Function module Z not found", message_class="FL", number="046",
                                 variables=("Z",))  # fmt: skip
    with pytest.raises(AbapApplicationError) as raised:
        raise_for_rfc_error(reply)
    assert (raised.value.key, raised.value.msg_class, raised.value.msg_number, raised.value.msg_v1) == (
        "FU_NOT_FOUND",
        "FL",
        "046",
        "Z",
    )


def test_a_long_reply_is_cut_into_numbered_frames() -> None:
    tlv = bytes(framing.CHUNK_SIZE * 2 + 5)
    frames = framing.reply_frames(b"40000001", tlv)
    assert [len(frame) - 80 for frame in frames] == [framing.CHUNK_SIZE, framing.CHUNK_SIZE, 5]
    assert [frame[13] for frame in frames] == [1, 2, 3]
    assert [struct.unpack_from(">I", frame, 60)[0] for frame in frames] == [0, 0, 1]  # only the last is final
    assert b"".join(frame[80:] for frame in frames) == tlv
    (whole,) = framing.reply_frames(b"40000001", tlv, whole=True)
    assert whole[80:] == tlv


def test_the_handshake_answers_with_code_page_4103_and_the_handle() -> None:
    version = handshake.answer(b"\x02\x03" + bytes(62), b"40000007")
    connect = handshake.answer(b"\x06\x01" + bytes(70), b"40000007")
    assert version is not None and version[20:24] == b"4103"
    assert connect is not None and connect[40:48] == b"40000007"
    assert handshake.answer(b"\x06\x0f" + bytes(222), b"40000007") is None
    with pytest.raises(ProtocolError, match="an NI version message has 64 bytes, not 10"):
        handshake.answer(b"\x02\x03" + bytes(8), b"40000007")
