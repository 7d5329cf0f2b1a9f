"""A bad day around the service process: its state folder turns read-only for a while. Once it is
writable again, the service recovers without a restart: every request is answered again, and every
IDoc accepted reaches SAP exactly once and ends CONFIRMED."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from idocbridge.db.engine import create_engine_for, database_url_for_state
from idocbridge.soap.testing import ServiceProcess
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.store import OutboxStore
from tests.perf.bench_hostile import txtraw_request
from tests.soap.example_service import served_example
from tests.waiting import wait_until

SERVICE = "saptRFCClientService"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
XML = {"Content-Type": "text/xml; charset=utf-8"}


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only for this process and others: by its mode, or for root (whom modes do not stop) by
    a read-only bind mount over it. Files opened before stay writable through their open descriptors, as
    with a remount of a real disk."""
    if os.geteuid() != 0:
        files = [folder, *folder.iterdir()]
        modes = {path: path.stat().st_mode for path in files}
        for path in files:
            path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    target = str(folder.resolve())
    mounted = subprocess.run(["mount", "--bind", target, target], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"running as root, and a read-only bind mount is not allowed here: {mounted.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", target], check=True, capture_output=True)
        yield
    finally:
        subprocess.run(["umount", "--lazy", target], check=True, capture_output=True)  # open files keep it


def _post(service: ServiceProcess, number: int) -> int:
    body = txtraw_request([f"order {number}"])
    try:
        return httpx.post(f"{service.url}/{SERVICE}", content=body, headers=XML, timeout=60).status_code
    except httpx.HTTPError:
        return 0


def test_a_state_folder_read_only_for_a_while_heals_without_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with served_example(tmp_path) as (sim, service):
        assert _post(service, 0) == 200
        number = 1
        with read_only(state), ThreadPoolExecutor(12) as pool:
            # Many at once: the pool opens new database connections while the folder is read-only.
            during = list(pool.map(lambda n: _post(service, n), range(number, number + 24)))
            number += 24
        assert set(during) <= {200, 500}, during

        def healthy() -> bool:
            nonlocal number
            answers = [_post(service, n) for n in range(number, number + 10)]
            number += 10
            return answers == [200] * 10

        wait_until(healthy, timeout=60, what="ten requests in a row answered once the folder is writable")
        engine = create_engine_for(database_url_for_state(state), must_exist=True)
        try:
            store = OutboxStore(engine)

            def all_confirmed() -> dict[OutboxState, int] | None:
                counts = {state: count for state, count in store.counts().items() if count}
                return counts if set(counts) == {OutboxState.CONFIRMED} else None

            counts = wait_until(all_confirmed, timeout=120, what="every accepted entry CONFIRMED")
        finally:
            engine.dispose()
        idocs = sim.control.idocs()
        assert counts[OutboxState.CONFIRMED] == len(idocs), (counts, len(idocs))
        tids = [idoc["tid"] for idoc in idocs]
        assert len(tids) == len(set(tids)), "an IDoc reached SAP twice"
