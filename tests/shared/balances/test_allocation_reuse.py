"""The reused allocation (kopilka.balances.allocations.current_allocations): reads that miss
together compute it once, and a computation during which an input changed is not kept."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from kopilka.balances import allocations


class _Session:
    """What current_allocations asks of its session after computing: the version now."""

    def __init__(self, version_after: int) -> None:
        self.version_after = version_after

    def scalar(self, *_: Any, **__: Any) -> int:
        return self.version_after


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def slow(session: Any, community: Any, period: Any) -> Any:
        calls.append(period.id)
        time.sleep(0.3)
        return allocations.AllocationResult([])

    monkeypatch.setattr(allocations, "compute_allocations", slow)
    monkeypatch.setattr(allocations, "_MEMO", type(allocations._MEMO)())
    return calls


def _read(version: int, version_after: int, out: list[Any]) -> None:
    community, period = SimpleNamespace(id=7), SimpleNamespace(id=70)
    out.append(
        allocations.current_allocations(
            _Session(version_after), community, period, version_read=(version, None)
        )
    )


def test_reads_that_miss_together_compute_once(computed: list[int]) -> None:
    out: list[Any] = []
    threads = [threading.Thread(target=_read, args=(3, 3, out)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert computed == [70]
    assert len(out) == 6 and all(o is out[0] for o in out)
    _read(3, 3, out)  # and then from the memo
    assert computed == [70]


def test_an_input_changed_while_computing_is_not_kept(computed: list[int]) -> None:
    out: list[Any] = []
    _read(4, 5, out)  # the version moved on during the computation
    _read(4, 4, out)
    assert computed == [70, 70]
    _read(4, 4, out)
    assert computed == [70, 70]


def test_a_writing_transaction_computes_afresh(computed: list[int]) -> None:
    community, period = SimpleNamespace(id=7), SimpleNamespace(id=70)
    for _ in range(2):
        allocations.current_allocations(_Session(9), community, period, version_read=(9, 12345))
    assert computed == [70, 70]
