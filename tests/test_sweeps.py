"""Sweeps through Hydra's own plugins: joblib, submitit, Optuna; failing jobs."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
from conftest import TINY, run_cli

SHORT = [*TINY, "trainer.total_env_steps=1024", "trainer.eval_episodes=1"]


def _metrics(sweep: Path) -> dict[str, dict[str, float]]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))}


def test_joblib_runs_two_jobs_in_parallel_processes(tmp_path: Path, expert_file: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        "gail-train",
        "-m",
        "seed=0,1",
        "hydra/launcher=local_parallel",
        "hydra.launcher.n_jobs=2",
        f"dataset.path={expert_file}",
        *SHORT,
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2,backend=loky" in result.stdout + result.stderr
    names = sorted(_metrics(sweep))
    assert len(names) == 2
    assert names[0].startswith("0_") and "seed=0" in names[0]
    assert names[1].startswith("1_") and "seed=1" in names[1]


def test_optuna_search_records_its_trials_in_a_sqlite_study(
    tmp_path: Path, expert_file: Path
) -> None:
    sweep = tmp_path / "search"
    args = [
        "-m",
        "hparams_search=halfcheetah_optuna",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweep.dir={sweep}",
        f"dataset.path={expert_file}",
        *SHORT,
    ]
    result = run_cli("gail-train", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    study = optuna.load_study(study_name="halfcheetah_gail", storage=f"sqlite:///{sweep}/optuna.db")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    returned = [m["eval/normalized_return"] for m in _metrics(sweep).values()]
    assert study.best_value == max(returned)
    # the same command resumes the study: two more trials in the same database
    result = run_cli("gail-train", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(optuna.load_study(study_name="halfcheetah_gail", storage=study._storage).trials) == 4


def test_submitit_local_runs_a_job(tmp_path: Path, expert_file: Path) -> None:
    sweep = tmp_path / "submitit"
    result = run_cli(
        "gail-train",
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        f"dataset.path={expert_file}",
        *SHORT,
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_metrics(sweep)) == 1


def test_a_failing_job_is_reported_and_the_others_finish(tmp_path: Path, expert_file: Path) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        "gail-train",
        "-m",
        "dataset.num_trajectories=99,1",
        f"dataset.path={expert_file}",
        *SHORT,
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "dataset.num_trajectories=99 but the file holds only 3 episodes" in result.stderr
    (finished,) = _metrics(sweep)
    assert finished.startswith("1_dataset.num_trajectories=1,")
