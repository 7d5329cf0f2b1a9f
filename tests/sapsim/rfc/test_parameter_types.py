"""Every DDIC type of the metamodel, in import, export, changing and table parameters, by both clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from idocbridge.sapsim.testing import SimulatorProcess
from tests.sapsim.rfc.conftest import logon_parameters

saprfclib = pytest.importorskip("saprfclib")
pyrfc = pytest.importorskip("pyrfc")

SCALARS = {
    "CHAR": ("CHAR(10)", "Grüße"),
    "NUMC": ("NUMC(6)", "004711"),
    "DATS": ("DATS", "20261205"),
    "TIMS": ("TIMS", "235959"),
    "INT1": ("INT1", 255),
    "INT2": ("INT2", -32768),
    "INT4": ("INT4", 2147483647),
    "INT8": ("INT8", -(2**62)),
    "DEC": ("DEC(15,2)", Decimal("-1234567890123.45")),
    "FLTP": ("FLTP", 2.5),
    "RAW": ("RAW(4)", b"\x00\xffAB"),
    "STRING": ("STRING", "a string of any length, ünïcödé"),
    "XSTRING": ("XSTRING", b"\x01\x02" * 100),
}

MODULE = f"""
from idocbridge.sapsim.functions import Parameter, function_module

SCALARS = { ({name: type_ for name, (type_, _) in SCALARS.items()})!r}

@function_module(
    "Z_RFC_TYPES",
    parameters=[Parameter("I", f"I_{{name}}", type_, optional=True) for name, type_ in SCALARS.items()]
    + [Parameter("E", f"E_{{name}}", type_) for name, type_ in SCALARS.items()]
    + [Parameter("C", "C_COUNTER", "INT4"), Parameter("T", "T_ROWS", "RFC_FUNINT")],
)
def z_rfc_types(context, params):
    result = {{f"E_{{name}}": params.get(f"I_{{name}}") for name in SCALARS}}
    result["C_COUNTER"] = params.get("C_COUNTER", 0) + 1
    result["T_ROWS"] = [dict(row, POSITION=row["POSITION"] * 10) for row in params.get("T_ROWS", [])]
    return result
"""


@pytest.fixture(scope="module")
def types_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    root = tmp_path_factory.mktemp("types")
    (root / "z_rfc_types.py").write_text(MODULE, encoding="utf-8")
    config = root / "sim.yaml"
    config.write_text(
        "users:\n  - {name: IDOCUSER, client: '100', password: idocbridge, functions: [Z_RFC_TYPES]}\n"
        "functionModules: [z_rfc_types]\n",
        encoding="utf-8",
    )
    with SimulatorProcess(root / "state", config=config, environment={"PYTHONPATH": str(root)}) as sim:
        yield sim


def _arguments(*leave_out: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {f"I_{name}": value for name, (_, value) in SCALARS.items() if name not in leave_out}
    arguments["C_COUNTER"] = 41
    arguments["T_ROWS"] = [
        {"PARAMCLASS": "I", "PARAMETER": "FIRST", "POSITION": 1, "INTLENGTH": -7},
        {"PARAMCLASS": "T", "PARAMETER": "SECOND", "POSITION": 2, "OPTIONAL": "X"},
    ]
    return arguments


def _check(result: dict[str, Any], *left_out: str) -> None:
    for name, (_, value) in SCALARS.items():
        if name not in left_out:
            assert result[f"E_{name}"] == value, name
    assert result["C_COUNTER"] == 42
    assert [(r["PARAMETER"], r["POSITION"], r["INTLENGTH"], r["OPTIONAL"]) for r in result["T_ROWS"]] == [
        ("FIRST", 10, -7, ""),
        ("SECOND", 20, 0, "X"),
    ]


def test_saprfclib(types_sim: SimulatorProcess) -> None:
    connection = saprfclib.connect(**logon_parameters(types_sim))
    try:
        result = connection.call("Z_RFC_TYPES", **_arguments())
    finally:
        connection.close()
    # saprfclib hands DATS and TIMS back as date and time objects.
    assert (result["E_DATS"], result["E_TIMS"]) == (dt.date(2026, 12, 5), dt.time(23, 59, 59))
    _check(result, "DATS", "TIMS")


def _erpl_call(sim: SimulatorProcess, arguments: dict[str, Any]) -> dict[str, Any]:
    connection = pyrfc.Connection(**logon_parameters(sim))
    try:
        result: dict[str, Any] = connection.call("Z_RFC_TYPES", **arguments)
    finally:
        connection.close()
    return result


def test_erpl_pyrfc(types_sim: SimulatorProcess) -> None:
    _check(_erpl_call(types_sim, _arguments("DEC")), "DEC")


@pytest.mark.xfail(
    strict=True,
    raises=pyrfc.ExternalRuntimeError,
    reason="erpl-pyrfc 2026.9.3 ignores DECIMALS of a scalar parameter in RFC_GET_FUNCTION_INTERFACE and treats "
    "DEC(15,2) as 0 decimals: 'more decimal places than the field declares is outside what the format can hold'",
)
def test_erpl_pyrfc_packed_decimal_with_decimals(types_sim: SimulatorProcess) -> None:
    _check(_erpl_call(types_sim, _arguments()))


def test_a_result_that_does_not_fit_its_parameter_is_a_short_dump(types_sim: SimulatorProcess) -> None:
    connection = pyrfc.Connection(**logon_parameters(types_sim))
    try:
        with pytest.raises(pyrfc.ABAPRuntimeError) as raised:
            connection.call("Z_RFC_TYPES", C_COUNTER=2**31 - 1)  # C_COUNTER + 1 overflows INT4
        assert connection.call("Z_RFC_TYPES", C_COUNTER=1)["C_COUNTER"] == 2  # the connection is still there
    finally:
        connection.close()
    assert raised.value.key == "SYSTEM_FAILURE"
    assert "short dump in Z_RFC_TYPES" in str(raised.value)
