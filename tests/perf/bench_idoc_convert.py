"""IDoc file conversion benchmark: `idocbridge idoc convert` on large files, speed and peak memory.

    .venv/bin/python tests/perf/bench_idoc_convert.py            # 100 MB flat file (or IDOC_BENCH_MB)
    .venv/bin/python tests/perf/bench_idoc_convert.py --size-mb 20 --large-mb 5

Builds a flat file of many ORDERS05 IDocs (the parser file of ../shared/testdata/external/PeterXyp__sapidoc,
the IDoc of examples/idocs/orders05.xml, DOCNUM and BELNR varied per IDoc; the built-in TXTRAW01 where
../shared is absent), then times `idocbridge idoc convert` flat -> xml, xml -> flat and flat -> json,
each in its own process, and reports input MB/s and the process's peak RSS. Baselines measured in the
same run: a Python line-by-line copy of the file (the I/O floor), `idocbridge --version` (the RSS floor
of the interpreter and the package), and the same conversions on a file a quarter the size (peak RSS
should not grow with the file). A last case converts one very large TXTRAW01 IDoc, whose peak RSS
should grow with that IDoc.

Each conversion is also run by a plain converter (``idoc_baseline.py``: lxml iterparse and string
slicing with the same metadata offsets, no validation), in its own process and timed the same way; its
output is compared with idocbridge's byte for byte, and the table at the end gives both rates and their
ratio (idocbridge / baseline: above 1, idocbridge is faster). ``--rounds N`` runs every conversion N
times and keeps the fastest. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import filecmp
import io
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import DEVNULL, PIPE, Popen

from idocbridge.idoc import (
    TXTRAW01,
    IDocRecords,
    IDocType,
    idoc_to_records,
    iter_idoc_xml,
    read_parser_file,
    txtraw_records,
    write_flat_idoc,
)

ROOT = Path(__file__).resolve().parents[2]
PARSER_FILE = ROOT.parent / "shared/testdata/external/PeterXyp__sapidoc/src/test/resources/ORDERS05.txt"
TEMPLATE = ROOT / "examples" / "idocs" / "orders05.xml"
TEMPLATE_BELNR = "PO-2026-000417"  # 14 characters, replaced by PO-nnnnnnnnnnn of the same width
MB = 1e6
SUMMARY = re.compile(r"converted (?P<idocs>\d+) IDoc\(s\) .* in (?P<seconds>[\d.]+) s")

PEAK = re.compile(r"^peak-rss-kib (?P<kib>\d+)$", re.MULTILINE)
WRAPPER = """
import atexit, sys

def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\npeak-rss-kib {kib}\\n")

atexit.register(peak)
if sys.argv[1] == "copy":
    with open(sys.argv[2], "rb") as source, open(sys.argv[3], "wb") as target:
        for line in source:
            target.write(line)
elif sys.argv[1] == "baseline":
    sys.path.insert(0, sys.argv[2])
    from tests.perf.idoc_baseline import main
    main(sys.argv[3:])
else:
    from idocbridge.cli import main
    sys.argv = ["idocbridge", *sys.argv[1:]]
    sys.exit(main())
"""
"""Runs ``idocbridge ARGS`` (or ``copy SOURCE TARGET``, or ``baseline ROOT SOURCE TO TARGET [PARSERFILE]``)
and writes its own peak RSS to stderr at exit.

Why not the rusage of the child: on Linux, a child's ru_maxrss (from wait4 or RUSAGE_CHILDREN) starts
from the RSS it had before exec, i.e. the size of the parent that forked (or vforked) it, so a child
smaller than this script reports this script's size. VmHWM in /proc/self/status belongs to the memory
of the program after exec, so the process reads its own at exit. RUSAGE_CHILDREN deltas would not work
either: it is the largest of all children waited for so far.
"""


@dataclass
class Run:
    name: str
    input_bytes: int
    seconds: float
    peak_mb: float
    output_bytes: int
    idocs: int | None = None  # as the converter reports them
    inner_seconds: float | None = None  # the converter's own timing, without process start and imports

    @property
    def rate(self) -> float:
        return self.input_bytes / MB / self.seconds

    @property
    def inner_rate(self) -> float:
        return self.input_bytes / MB / (self.inner_seconds or self.seconds)


def run(name: str, arguments: list[str], input_path: Path | None, output_path: Path | None) -> Run:
    """Run ``idocbridge ARGUMENTS`` (or ``copy ...``) through WRAPPER in its own process: wall time, peak RSS."""
    started = time.perf_counter()
    process = Popen([sys.executable, "-c", WRAPPER, *arguments], stdin=DEVNULL, stdout=DEVNULL, stderr=PIPE)
    _, stderr_bytes = process.communicate()
    elapsed = time.perf_counter() - started
    stderr = stderr_bytes.decode(errors="replace")
    peak = PEAK.search(stderr)
    if process.returncode != 0 or peak is None:
        raise SystemExit(f"{name}: idocbridge {' '.join(arguments)} failed ({process.returncode}):\n{stderr}")
    size_in = input_path.stat().st_size if input_path else 0
    size_out = output_path.stat().st_size if output_path else 0
    result = Run(name, size_in, elapsed, int(peak["kib"]) / 1024, size_out)
    summary = SUMMARY.search(stderr)
    if summary:
        result.idocs, result.inner_seconds = int(summary["idocs"]), float(summary["seconds"])
    return result


def convert(name: str, source: Path, to: str, target: Path, metadata: Path | None, rounds: int = 1) -> Run:
    """``idocbridge idoc convert``, the fastest of ``rounds`` runs."""
    command = ["idoc", "convert", str(source), "--to", to, "-o", str(target)]
    if metadata is not None:
        command += ["--metadata", str(metadata)]
    return _fastest(run(name, command, source, target) for _ in range(rounds))


def baseline(name: str, source: Path, to: str, target: Path, metadata: Path | None, rounds: int = 1) -> Run:
    """The plain converter of idoc_baseline.py on the same file, the fastest of ``rounds`` runs."""
    command = ["baseline", str(ROOT), str(source), to, str(target), *([str(metadata)] if metadata else [])]
    return _fastest(run(name, command, source, target) for _ in range(rounds))


def _fastest(runs: Iterator[Run]) -> Run:
    return min(runs, key=lambda result: result.inner_seconds or result.seconds)


@dataclass
class Comparison:
    """idocbridge and the baseline on one conversion, and whether they wrote the same bytes."""

    ours: Run
    theirs: Run
    same: bool

    @property
    def ratio(self) -> float:
        return self.ours.inner_rate / self.theirs.inner_rate


def _template() -> tuple[IDocRecords, str, Path | None]:
    """The records of one IDoc to repeat, a label, and the parser file the CLI needs (None: built in)."""
    if PARSER_FILE.is_file():
        idoc_type: IDocType = read_parser_file(PARSER_FILE)
        idoc = next(iter(iter_idoc_xml(TEMPLATE)))
        records = idoc_to_records(idoc, idoc_type, segnam="definition")
        return records, "ORDERS05 (examples/idocs/orders05.xml, parser file from ../shared)", PARSER_FILE
    control = {"IDOCTYP": TXTRAW01.name, "MESTYP": "TXTRAW", "DIRECT": "2", "SNDPOR": "LEGACY", "SNDPRT": "LS",
               "SNDPRN": "LEGACYSYS", "RCVPOR": "SAPSIM", "RCVPRT": "LS", "RCVPRN": "SIMCLNT100"}  # fmt: skip
    lines = [f"Order {TEMPLATE_BELNR} line {n}: 10 PC of material 4711 delivered to Bremen" for n in range(12)]
    label = "TXTRAW01 (built in: ../shared with the ORDERS05 parser file is absent)"
    return IDocRecords(control, txtraw_records(lines)), label, None


def _numbered(template: IDocRecords, number: int) -> IDocRecords:
    belnr = f"PO-{number:011d}"
    control = dict(template.control, DOCNUM=f"{number:016d}")
    data = [dict(record, SDATA=record["SDATA"].replace(TEMPLATE_BELNR, belnr)) for record in template.data]
    return IDocRecords(control, data)


def write_many(path: Path, template: IDocRecords, size: int) -> int:
    """A flat file of copies of ``template`` with DOCNUM and BELNR numbered, at least ``size`` bytes; how many."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        while out.tell() < size:
            count += 1
            write_flat_idoc(out, _numbered(template, count))
    return count


def write_one_large(path: Path, size: int) -> int:
    """A flat file of one TXTRAW01 IDoc with text lines of 72 characters, at least ``size`` bytes; lines."""
    line_bytes = len(_line_text(0)) + 65  # SDATA after the 63-character data record header, CRLF
    count = max(1, size // line_bytes)
    control = {"IDOCTYP": TXTRAW01.name, "MESTYP": "TXTRAW", "DOCNUM": "1".zfill(16), "DIRECT": "2"}
    with path.open("w", encoding="utf-8", newline="") as out:
        write_flat_idoc(out, IDocRecords(control, txtraw_records([_line_text(n) for n in range(count)])))
    return count


def _line_text(number: int) -> str:
    return f"Line {number:08d} of one very large text IDoc: lorem ipsum dolor sit amet"[:72].ljust(72, ".")


def _parse_size(text: str) -> float:
    return float(text)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mb", type=_parse_size, default=float(os.environ.get("IDOC_BENCH_MB", "100")),
                        help="size of the flat file of many IDocs (default 100, or IDOC_BENCH_MB)")  # fmt: skip
    parser.add_argument("--large-mb", type=_parse_size, default=float(os.environ.get("IDOC_BENCH_LARGE_MB", "10")),
                        help="size of the flat file holding one large TXTRAW01 IDoc (default 10)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="build the files here and keep them (default: a temp dir)")
    parser.add_argument("--rounds", type=int, default=1, help="run each conversion this often, keep the fastest")
    return parser.parse_args()


def _conversions(
    label: str, flat: Path, metadata: Path | None, work: Path, rounds: int, comparisons: list[Comparison]
) -> Iterator[Run]:
    """idocbridge flat -> xml, xml -> flat (the XML it wrote) and flat -> json; each also by the baseline."""
    xml = work / f"{flat.stem}.out.xml"
    for direction, source, to, target in (
        ("flat -> xml", flat, "xml", xml),
        ("xml -> flat", xml, "flat", work / f"{flat.stem}.out.txt"),
        ("flat -> json", flat, "json", work / f"{flat.stem}.out.json"),
    ):
        ours = convert(f"{label} {direction}", source, to, target, metadata, rounds)
        theirs_path = target.with_suffix(".base")
        theirs = baseline(f"{label} {direction}, baseline", source, to, theirs_path, metadata, rounds)
        comparisons.append(Comparison(ours, theirs, filecmp.cmp(target, theirs_path, shallow=False)))
        theirs_path.unlink()
        yield ours
        yield theirs


def _row(result: Run, copy_rate: float, floor_mb: float) -> str:
    idocs = f"{result.idocs:>7}" if result.idocs is not None else "      -"
    inner = f"{result.inner_seconds:7.2f}" if result.inner_seconds is not None else "      -"
    rate = f"{result.inner_rate:7.1f}" if result.input_bytes else "      -"
    ratio = f"{result.inner_rate / copy_rate:6.3f}" if result.input_bytes else "     -"
    return (
        f"{result.name:<32} {result.input_bytes / MB:7.1f} {result.output_bytes / MB:7.1f} {idocs} "
        f"{result.seconds:7.2f} {inner} {rate} {ratio} {result.peak_mb:7.1f} {result.peak_mb - floor_mb:7.1f}"
    )


def main() -> None:
    arguments = _arguments()
    with tempfile.TemporaryDirectory() as folder:
        work = arguments.keep or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        template, label, metadata = _template()
        size = int(arguments.size_mb * MB)
        template_text = io.StringIO()
        write_flat_idoc(template_text, template)
        print(f"IDoc type: {label}; {len(template.data)} data records, {len(template_text.getvalue())} bytes per IDoc")

        started = time.perf_counter()
        full, quarter, large = work / "many.txt", work / "quarter.txt", work / "large.txt"
        count_full = write_many(full, template, size)
        count_quarter = write_many(quarter, template, size // 4)
        lines_large = write_one_large(large, int(arguments.large_mb * MB))
        print(
            f"built in {time.perf_counter() - started:.1f} s: {full.name} {full.stat().st_size / MB:.1f} MB "
            f"({count_full} IDocs), {quarter.name} {quarter.stat().st_size / MB:.1f} MB ({count_quarter} IDocs), "
            f"{large.name} {large.stat().st_size / MB:.1f} MB (1 TXTRAW01 IDoc, {lines_large} lines)"
        )

        floor = run("idocbridge --version (RSS floor)", ["--version"], None, None)
        copies = [run("copy, Python line by line", ["copy", str(full), str(work / "copy.txt")], full, work / "copy.txt")
                  for _ in range(3)]  # fmt: skip
        copy = min(copies, key=lambda result: result.seconds)  # under a second: the fastest of three
        (work / "copy.txt").unlink()
        results = {"floor": [floor], "copy": [copy]}
        comparisons: list[Comparison] = []
        for key, path in (("full", full), ("quarter", quarter), ("large", large)):
            name = {"full": f"{size / MB:g} MB", "quarter": f"{size / 4 / MB:g} MB", "large": "1 IDoc"}[key]
            results[key] = list(
                _conversions(name, path, metadata if key != "large" else None, work, arguments.rounds, comparisons)
            )
            for output in work.glob(f"{path.stem}.out.*"):
                output.unlink()  # keep the disk use to one case at a time

    header = (
        f"{'run':<32} {'in MB':>7} {'out MB':>7} {'IDocs':>7} {'wall s':>7} {'conv s':>7} {'MB/s':>7} {'/copy':>6} "
        f"{'peak MB':>7} {'-floor':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    for group in results.values():
        for result in group:
            print(_row(result, copy.rate, floor.peak_mb))
    print()
    print("wall s: the process, start and imports included; conv s: the converter's own figure (reading,")
    print("converting, writing); MB/s: input MB over conv s (wall s for the copy); /copy: over the copy's rate")
    print("peak MB: the process's peak RSS; -floor: less that of `idocbridge --version`")
    for full_run, quarter_run in zip(results["full"][::2], results["quarter"][::2], strict=True):
        conversion = full_run.name.split(" ", 2)[2]
        growth = (full_run.peak_mb - floor.peak_mb) / max(quarter_run.peak_mb - floor.peak_mb, 0.1)
        print(
            f"{conversion:<14} peak RSS {size / MB:g} MB file / {size / 4 / MB:g} MB file: "
            f"{full_run.peak_mb / quarter_run.peak_mb:.2f} (above the floor: {growth:.2f}); "
            f"rate {full_run.inner_rate / copy.rate:.3f} x the copy"
        )
    _print_comparisons(comparisons)


def _print_comparisons(comparisons: list[Comparison]) -> None:
    """idocbridge against the plain baseline, per conversion: MB/s of each (conv s), ratio, same output."""
    print()
    header = f"{'conversion':<32} {'idocbridge MB/s':>15} {'baseline MB/s':>13} {'ratio':>6}  output"
    print(header)
    print("-" * len(header))
    for item in comparisons:
        same = "identical" if item.same else "DIFFERS"
        rates = f"{item.ours.inner_rate:15.1f} {item.theirs.inner_rate:13.1f}"
        print(f"{item.ours.name:<32} {rates} {item.ratio:6.2f}  {same}")
    print("ratio: idocbridge's rate over the baseline's (above 1: idocbridge is faster); output: the two files")
    print("compared byte for byte")


if __name__ == "__main__":
    main()
