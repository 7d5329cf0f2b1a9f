"""Command-line start benchmark: how long ``idocbridge`` takes, and how much memory, before it does anything.

    .venv/bin/python tests/perf/bench_cli_start.py
    .venv/bin/python tests/perf/bench_cli_start.py --runs 9

Runs, each in a fresh interpreter and ``--runs`` times (5 by default, the cases taking turns so that a
busy machine slows them alike): ``idocbridge --help``, ``idocbridge validate`` of the tRFC client
example, ``idocbridge log --help`` and ``idocbridge log --state DIR`` on a transaction log that holds
no entries (created once, before timing, by the project's migrations, as a service does when it starts).
The baseline, measured in the same run: ``python -c pass``. Reports the median wall time and the median
peak RSS of each, the number of modules loaded, and which of the heavy packages were imported. Prints
figures; asserts nothing about time.

Every case runs through the same small wrapper (``python -c WRAPPER ARGS``): it does what the console
script does (``from idocbridge.cli import main``, then ``main()``), or nothing for the baseline, and at
exit writes its own peak RSS (VmHWM of /proc/self/status) and the modules loaded to stderr. Why not the
child's rusage: on Linux a child's ru_maxrss starts from the size of the parent that forked it (see
bench_idoc_convert.py), so a process smaller than this script would report this script's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL, PIPE, Popen

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "trfc_client" / "model.yaml"

HEAVY = (
    "pydantic",
    "idocbridge.models",
    "sqlalchemy",
    "alembic",
    "zeep",
    "lxml.etree",
    "uvicorn",
    "starlette",
    "idocbridge.soap.app",
    "idocbridge.sapsim",
    "idocbridge.generators",
)
"""Packages worth naming when a case loads them (the command line's heavy dependencies)."""

WRAPPER = f"""
import atexit, json, sys

def report():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    figures = {{"kib": int(kib), "modules": len(sys.modules), "heavy": [n for n in {HEAVY!r} if n in sys.modules]}}
    sys.stderr.write("\\nbench-cli-start " + json.dumps(figures) + "\\n")

atexit.register(report)
if len(sys.argv) > 1:
    from idocbridge.cli import main
    sys.argv = ["idocbridge", *sys.argv[1:]]
    main()
"""
"""Runs ``idocbridge ARGS`` as the console script does (nothing without arguments); reports at exit."""

MARKER = "bench-cli-start "


@dataclass
class Case:
    name: str
    arguments: list[str]
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    modules: int = 0
    heavy: list[str] = field(default_factory=list)


def run_once(case: Case) -> None:
    """One run of ``case`` in a fresh interpreter: wall time from start to exit, the peak RSS it reports."""
    started = time.perf_counter()
    process = Popen([sys.executable, "-c", WRAPPER, *case.arguments], stdin=DEVNULL, stdout=DEVNULL, stderr=PIPE)
    _, stderr_bytes = process.communicate()
    elapsed = time.perf_counter() - started
    stderr = stderr_bytes.decode(errors="replace")
    report = next((line[len(MARKER) :] for line in stderr.splitlines() if line.startswith(MARKER)), None)
    if process.returncode != 0 or report is None:
        raise SystemExit(f"{case.name} failed ({process.returncode}):\n{stderr}")
    figures = json.loads(report)
    case.seconds.append(elapsed)
    case.peak_mb.append(figures["kib"] / 1024)
    case.modules, case.heavy = figures["modules"], figures["heavy"]


def empty_log(folder: Path) -> Path:
    """A state folder whose runtime database holds an empty transaction log, as a service creates it."""
    from idocbridge.db.engine import create_engine_for, database_url_for_state
    from idocbridge.db.migrate import upgrade

    engine = create_engine_for(database_url_for_state(folder))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each case; the median counts (default 5)")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-start-") as temporary:
        state = empty_log(Path(temporary))
        cases = [
            Case("python -c pass", []),
            Case("idocbridge --help", ["--help"]),
            Case("idocbridge validate MODEL", ["validate", str(MODEL)]),
            Case("idocbridge log --help", ["log", "--help"]),
            Case("idocbridge log --state DIR", ["log", "--state", str(state)]),
        ]
        for case in cases:  # once each, unmeasured: the files are in the page cache for every measured run
            run_once(Case(case.name, case.arguments))
        for _ in range(arguments.runs):
            for case in cases:
                run_once(case)

    print(f"median of {arguments.runs} runs each; MODEL: {MODEL.relative_to(ROOT)}; DIR: an empty transaction log")
    print(f"{'command':<28} {'wall s':>7} {'min s':>6} {'max s':>6} {'peak MB':>8} {'modules':>8}  heavy loaded")
    for case in cases:
        print(
            f"{case.name:<28} {statistics.median(case.seconds):7.3f} {min(case.seconds):6.3f} {max(case.seconds):6.3f}"
            f" {statistics.median(case.peak_mb):8.1f} {case.modules:8d}  {', '.join(case.heavy) or '-'}"
        )


if __name__ == "__main__":
    main()
