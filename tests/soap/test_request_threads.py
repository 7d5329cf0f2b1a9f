"""The request threads are renewed after a fixed amount of request bytes, so that the names lxml keeps
per thread (every element and attribute name it parsed) cannot grow the service's memory without end."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from lxml import etree

from idocbridge.soap.memory import release_free_memory
from idocbridge.soap.threads import RenewedThreads


def _rss_mib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def _parse_made_up_names() -> int:
    """Parse a document of 20,000 names never seen before (about 5 MB of them)."""
    names = "".join(f"<n{uuid.uuid4().hex}{'x' * 200}/>" for _ in range(20_000))
    return len(etree.fromstring(f"<r>{names}</r>".encode()))


def test_threads_are_renewed_after_their_bytes_and_the_old_ones_end() -> None:
    threads = RenewedThreads(2, "renewal-test", renew_after=1_000)
    try:
        first = threads.submit(threading.current_thread).result()
        threads.read(999)
        assert threads.submit(threading.current_thread).result().name.startswith("renewal-test")
        assert threads.renewals == 0
        threads.read(1)
        assert threads.renewals == 1
        second = threads.submit(threading.current_thread).result()
        assert second is not first
        first.join(timeout=30)
        assert not first.is_alive(), "the old pool's threads end once their work is done"
    finally:
        threads.shutdown()


def test_made_up_names_do_not_accumulate() -> None:
    threads = RenewedThreads(1, "names-test", renew_after=5_000_000)
    try:
        threads.submit(_parse_made_up_names).result()
        release_free_memory()
        before = _rss_mib()
        for _ in range(40):  # about 200 MB of names in all: kept, they would show
            threads.read(5_000_000)
            threads.submit(_parse_made_up_names).result()
        release_free_memory()
        grown = _rss_mib() - before
    finally:
        threads.shutdown()
    assert grown < 80, f"{grown} MiB more after 40 requests of made-up names"
