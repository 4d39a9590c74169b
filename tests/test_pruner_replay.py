"""benchmarks/pruner_replay.py: a finished search's curves replayed through the median pruner."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import pruner_replay


def finished(value: float, scores: dict[int, float]) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0.0, 1.0)},
        value=value,
        intermediate_values=scores,
    )


def test_a_trial_below_the_finished_ones_is_charged_its_steps_until_pruned() -> None:
    trials = [
        finished(1.0, {10: 1.0, 20: 1.0}),
        finished(0.9, {10: 0.5, 20: 0.9}),  # below the first at step 10: pruned there
        finished(2.0, {10: 2.0, 20: 2.0}),
    ]
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    result = pruner_replay.replay(trials, 1, pruner, maximize=True)
    assert (result.env_steps, result.full_env_steps, result.pruned) == (50, 60, 1)
    assert (result.best, result.recorded_best) == (2.0, 2.0)


def test_trials_of_one_batch_are_judged_only_against_earlier_batches() -> None:
    trials = [finished(1.0, {10: 1.0, 20: 1.0}), finished(0.1, {10: 0.1, 20: 0.1})]
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1)
    together = pruner_replay.replay(trials, 2, pruner, maximize=True)
    one_by_one = pruner_replay.replay(trials, 1, pruner, maximize=True)
    assert (together.pruned, together.env_steps) == (0, 40)
    assert (one_by_one.pruned, one_by_one.env_steps, one_by_one.best) == (1, 30, 1.0)


def test_a_missing_database_is_one_line_and_no_new_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "optuna.db"
    assert pruner_replay.main([str(missing)]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not missing.exists()
