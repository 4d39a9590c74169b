"""The default-config figure of `make bench` (benchmarks/throughput.py), on a fake window."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import throughput


def window(seconds: float, evaluation_s: float, checkpoint_s: float) -> dict[str, float]:
    steps = 20_000.0
    return {
        "env_steps": steps,
        "seconds": seconds,
        "env_steps_per_s": steps / seconds,
        "s_per_1k_steps/evaluation": evaluation_s * 1000 / steps,
        "s_per_1k_steps/checkpoints": checkpoint_s * 1000 / steps,
    }


def test_the_end_of_run_work_is_spread_over_the_run() -> None:
    # 10 s of loop and 2 s of final evaluation and save: a 1M-step run pays the 2 s once,
    # i.e. 0.04 s per 20k steps
    rate, end = throughput.run_proportioned_rate(window(12.0, 1.5, 0.5), 1_000_000)
    assert end == pytest.approx(2.0)
    assert rate == pytest.approx(20_000 / 10.04)


def test_a_run_no_longer_than_the_window_pays_all_of_it() -> None:
    rate, _ = throughput.run_proportioned_rate(window(12.0, 1.5, 0.5), 20_000)
    assert rate == pytest.approx(20_000 / 12.0)


def test_a_window_reaching_the_first_evaluation_is_refused_before_measuring(
    tmp_path: Path,
) -> None:
    out = tmp_path / "defaults.json"
    with pytest.raises(SystemExit, match="reaches the first evaluation"):
        throughput.env_defaults(throughput.EVAL_EVERY, 1_000, "cpu", out)
    assert not out.exists()
