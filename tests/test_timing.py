"""PhaseTimer: wall seconds per phase, summed."""

from __future__ import annotations

import time

import pytest

from gail_cli.timing import PhaseTimer


def test_phases_sum_their_blocks_and_survive_an_exception() -> None:
    timer = PhaseTimer()
    for _ in range(2):
        with timer("sleep"):
            time.sleep(0.01)
    with pytest.raises(RuntimeError), timer("failing"):
        time.sleep(0.01)
        raise RuntimeError("boom")
    assert 0.02 <= timer.seconds["sleep"] < 1.0
    assert 0.01 <= timer.seconds["failing"] < 1.0
    assert timer.seconds["never"] == 0.0
    timer.add({"sleep": 1.0, "other": 2.0})
    assert timer.seconds["other"] == 2.0
    assert timer.total == pytest.approx(sum(timer.seconds.values()))
    assert timer.total > 3.03
