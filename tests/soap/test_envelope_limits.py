"""Parsing within RequestLimits: the same answer whether the byte counts let the body be parsed at once or
it goes through the parser in pieces, element by element."""

from __future__ import annotations

import pytest

from idocbridge.soap.envelope import RequestLimits, parse_request
from idocbridge.soap.faults import SoapFault, http_status
from idocbridge.soap.xml_limits import _within_counts

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _envelope(payload: str, prefix: str = "") -> bytes:
    return f'{prefix}<s:Envelope xmlns:s="{SOAP11}"><s:Body>{payload}</s:Body></s:Envelope>'.encode()


# The same request, once within the byte bounds, once beyond them (text full of "=" and "<" in CDATA).
PLAIN = "<op><a>1</a><a>2</a></op>"
NOISY = "<op><a>" + "=" * 50 + "</a><a><![CDATA[" + "<" * 50 + "]]></a></op>"


@pytest.mark.parametrize("payload", [PLAIN, NOISY])
def test_both_ways_read_the_same_payload(payload: str) -> None:
    limits = RequestLimits(max_elements=20, max_attributes=20)
    assert _within_counts(_envelope(payload), limits) == (payload == PLAIN)
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
        ("<op><a " + " ".join(f"x{n}='>'" for n in range(9)) + "/></op>", {"max_attributes_per_element": 8},
         "element a has more than 8 attributes"),
        ("<op><" + "n" * 40 + "/></op>", {"max_name_length": 30}, "a name of more than 30 characters"),
        ("<op><a " + "m" * 40 + "='1'/></op>", {"max_name_length": 30}, "a name of more than 30 characters"),
        ("<op>" + "<a>" * 10 + "</a>" * 10 + "</op>", {"max_depth": 8}, "nests deeper than 8 elements"),
    ],
)  # fmt: skip
def test_both_ways_hold_every_limit(payload: str, limit: dict[str, int], message: str, noise: str) -> None:
    limits = RequestLimits(**{"max_elements": 150, "max_attributes": 150, **limit})  # type: ignore[arg-type]
    body = _envelope(payload.replace("<op>", "<op>" + noise, 1))
    if not {"max_elements", "max_attributes"} & set(limit):  # passing those fails the byte counts too
        assert _within_counts(body, limits) == (not noise)
    with pytest.raises(SoapFault) as refused:
        parse_request(body, limits)
    assert message in refused.value.reason
    # the client's fault: HTTP 500 in SOAP 1.1 (WS-I Basic Profile 1.1 R1126), 400 in SOAP 1.2 (Part 2 Table 20)
    assert (http_status(refused.value, "1.1"), http_status(refused.value, "1.2")) == (500, 400)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_wide_encodings_are_held_to_the_limits_before_parsing(encoding: str) -> None:
    attributes = " ".join(f"x{n}='1>'" for n in range(100))
    text = '<?xml version="1.0" encoding="UTF-16"?>' + _envelope(f"<op {attributes}/>").decode()
    with pytest.raises(SoapFault) as refused:
        parse_request(text.encode(encoding), RequestLimits(max_attributes_per_element=64))
    assert "element op has more than 64 attributes" in refused.value.reason


@pytest.mark.parametrize("encoding", ["UTF-7", "EBCDIC-US", "IBM037", "UTF-7-IMAP"])
def test_encodings_that_hide_markup_are_refused(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + _envelope(PLAIN)
    with pytest.raises(SoapFault) as refused:
        parse_request(body)
    assert f"the request is encoded in {encoding}; this service takes UTF-8 or UTF-16" in refused.value.reason


def test_an_encoding_declared_after_much_padding_is_read_all_the_same() -> None:
    body = b'<?xml version="1.0"' + b" " * 5_000 + b'encoding="UTF-7"?>' + _envelope(PLAIN)
    with pytest.raises(SoapFault) as refused:
        parse_request(body)
    assert "the request is encoded in UTF-7" in refused.value.reason


def test_a_body_in_ebcdic_without_a_declaration_is_refused() -> None:
    with pytest.raises(SoapFault) as refused:
        parse_request(_envelope(PLAIN).decode().encode("cp037"))
    assert "does not begin with '<' in UTF-8, UTF-16 or UTF-32" in refused.value.reason


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "Shift_JIS", "UTF-8"])
def test_ascii_safe_encodings_are_read(encoding: str) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + _envelope(PLAIN)
    assert [child.tag for child in parse_request(body).payload] == ["a", "a"]
