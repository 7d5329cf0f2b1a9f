"""Unmodified RFC client libraries against the simulator's classic RFC gateway (ashost + sysnr)."""

from __future__ import annotations

from typing import Any

from idocbridge.sapsim.testing import SimulatorProcess


def logon_parameters(sim: SimulatorProcess, user: str = "IDOCUSER", password: str = "idocbridge") -> dict[str, Any]:
    """What a client needs to log on by classic RFC: the host and system number sim.json names."""
    assert sim.info is not None
    return {
        "ashost": sim.info.gateway_host,
        "sysnr": sim.info.system_number,
        "client": "100",
        "user": user,
        "passwd": password,
    }


def counters(sim: SimulatorProcess) -> dict[str, int]:
    """The simulator's durable counters: ``rfc:cpic:FUNCTION`` counts calls that arrived by classic RFC."""
    result: dict[str, int] = sim.control.command("inspect.counters")
    return result
