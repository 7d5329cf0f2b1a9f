"""Parsing within RequestLimits: the same answer whether the byte counts let the body be parsed at once or
it goes through the parser in pieces, element by element."""

from __future__ import annotations

import pytest

from idocbridge.soap.envelope import RequestLimits, _within_at_once, parse_request
from idocbridge.soap.faults import SoapFault

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _envelope(payload: str, prefix: str = "") -> bytes:
    return f'{prefix}<s:Envelope xmlns:s="{SOAP11}"><s:Body>{payload}</s:Body></s:Envelope>'.encode()


# The same request, once within the byte bounds, once beyond them (text full of "=" and "<" in CDATA).
PLAIN = "<op><a>1</a><a>2</a></op>"
NOISY = "<op><a>" + "=" * 50 + "</a><a><![CDATA[" + "<" * 50 + "]]></a></op>"


@pytest.mark.parametrize("payload", [PLAIN, NOISY])
def test_both_ways_read_the_same_payload(payload: str) -> None:
    limits = RequestLimits(max_elements=20, max_attributes=20)
    assert _within_at_once(_envelope(payload), limits) == (payload == PLAIN)
    request = parse_request(_envelope(payload), limits)
    assert request.version == "1.1"
    assert [child.tag for child in request.payload] == ["a", "a"]


NOISE = "<a>" + "=" * 200 + "<![CDATA[" + "<" * 200 + "]]></a>"
"""More ``=`` and ``<`` than the limits below allow: the byte counts send the body element by element."""


@pytest.mark.parametrize("noise", ["", NOISE])
@pytest.mark.parametrize(
    ("payload", "limit", "message"),
    [
        ("<op>" + "<a/>" * 30 + "</op>", {"max_elements": 25}, "more than 25 elements"),
        ("<op>" + "<a x='1'/>" * 30 + "</op>", {"max_attributes": 20}, "more than 20 attributes"),
        ("<op><a " + " ".join(f"x{n}='1'" for n in range(9)) + "/></op>", {"max_attributes_per_element": 8},
         "has 9 attributes; at most 8 are allowed"),
        ("<op><" + "n" * 40 + "/></op>", {"max_name_length": 30}, "a name of 40 characters"),
        ("<op>" + "<a>" * 10 + "</a>" * 10 + "</op>", {"max_depth": 8}, "nests deeper than 8 elements"),
    ],
)  # fmt: skip
def test_both_ways_hold_every_limit(payload: str, limit: dict[str, int], message: str, noise: str) -> None:
    limits = RequestLimits(**{"max_elements": 150, "max_attributes": 150, **limit})  # type: ignore[arg-type]
    body = _envelope(payload.replace("<op>", "<op>" + noise, 1))
    if not {"max_elements", "max_attributes"} & set(limit):  # passing those fails the byte counts too
        assert _within_at_once(body, limits) == (not noise)
    with pytest.raises(SoapFault) as refused:
        parse_request(body, limits)
    assert message in refused.value.reason
    assert refused.value.status == 400


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_wide_encodings_are_held_to_the_start_tag_limit(encoding: str) -> None:
    attributes = " ".join(f"x{n}='1'" for n in range(2_000))
    text = f'<?xml version="1.0" encoding="{encoding.upper()[:6]}"?>' + _envelope(f"<op {attributes}/>").decode()
    with pytest.raises(SoapFault) as refused:
        parse_request(text.encode(encoding), RequestLimits(max_start_tag_bytes=4_096))
    assert "a start tag of more than 4096 bytes" in refused.value.reason
