"""Sweeps through Hydra's own plugins: joblib, submitit, Optuna, Ray; failing jobs; presets."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import subprocess
from pathlib import Path

import optuna
import pytest
from conftest import BIN, TINY, run_cli
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir and make_dirs resolvers)
from gail_cli.cli.optuna_storage import prepare_storage
from gail_cli.cli.report import main as main_report

SHORT = [*TINY, "trainer.total_env_steps=1024", "trainer.eval_episodes=1"]


def _metrics(sweep: Path) -> dict[str, dict[str, float]]:
    """metrics.json of each job directly below the sweep dir, by job folder name."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/metrics.json"))}


def _hydra_config(overrides: list[str]) -> DictConfig:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        return compose("train", overrides=overrides, return_hydra_config=True).hydra


def test_launcher_presets_compose_with_their_documented_keys() -> None:
    local = _hydra_config(["hydra/launcher=local_parallel"]).launcher
    assert local._target_.endswith("JoblibLauncher")
    assert (local.n_jobs, local.backend, local.prefer) == (-1, "loky", "processes")
    slurm = _hydra_config(["hydra/launcher=slurm", "hydra.launcher.partition=cpu"]).launcher
    assert slurm._target_.endswith("SlurmLauncher")
    assert (slurm.partition, slurm.timeout_min, slurm.cpus_per_task, slurm.mem_gb) == (
        "cpu",
        240,
        1,
        4,
    )


def test_optuna_presets_put_the_study_in_the_sweep_dir(tmp_path: Path) -> None:
    sweep = tmp_path / "not" / "yet"
    hydra = _hydra_config(["hparams_search=gail_optuna", "env=Hopper-v4"])
    assert hydra.sweeper.study_name == "gail_Hopper-v4"
    assert hydra.sweep.dir == "multirun/optuna/gail_Hopper-v4"
    hydra = _hydra_config(["hparams_search=halfcheetah_optuna", f"hydra.sweep.dir={sweep}"])
    assert hydra.sweeper._target_.endswith("OptunaAskTellSweeper") and hydra.mode.name == "MULTIRUN"
    assert hydra.sweeper.direction == "maximize" and hydra.sweeper.sampler.seed == 0
    assert hydra.sweeper.study_name == "gail_HalfCheetah-v4"
    # the folder is made when the URL is resolved, before optuna opens the database
    assert hydra.sweeper.storage == f"sqlite:///{sweep}/optuna.db" and sweep.is_dir()
    assert set(hydra.sweeper.params) == {
        "ppo.lr",
        "discriminator.lr",
        "discriminator.disc_update_num",
        "discriminator.grad_penalty",
        "ppo.ent_coef",
        "ppo.gae_lambda",
    }
    # no pruning unless asked for; a pruner option brings its arguments as keys
    assert hydra.sweeper.pruner._target_ == "optuna.pruners.NopPruner"
    hydra = _hydra_config(
        [
            "hparams_search=gail_optuna",
            "hydra/sweeper/pruner=median",
            "hydra.sweeper.pruner.n_warmup_steps=50000",
        ]
    )
    assert hydra.sweeper.pruner._target_ == "optuna.pruners.MedianPruner"
    assert hydra.sweeper.pruner.n_warmup_steps == 50000


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
    assert "Joblib.Parallel(n_jobs=2,backend=loky,prefer=processes" in result.stdout
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
        "hydra.sweeper.n_jobs=1",
        f"dataset.path={expert_file}",
        *SHORT,
    ]
    result = run_cli("gail-train", *args, f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr[-3000:]
    storage = f"sqlite:///{sweep}/optuna.db"
    study = optuna.load_study(study_name="gail_HalfCheetah-v4", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    returned = [m["eval/normalized_return"] for m in _metrics(sweep).values()]
    assert len(returned) == 2 and study.best_value == max(returned)
    # a second worker (or a resumed search): its own sweep dir and sampler seed, the same
    # storage URL -> its trials join the same study
    worker = tmp_path / "worker2"
    result = run_cli(
        "gail-train",
        *args,
        f"hydra.sweep.dir={worker}",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.sampler.seed=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = optuna.load_study(study_name="gail_HalfCheetah-v4", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4
    assert len(_metrics(worker)) == 2 and not (worker / "optuna.db").exists()


def test_a_pruned_trial_stops_saves_and_the_search_goes_on(
    tmp_path: Path, expert_file: Path
) -> None:
    sweep = tmp_path / "search"
    sweep.mkdir()
    storage = f"sqlite:///{sweep}/optuna.db"
    study = optuna.create_study(
        study_name="gail_HalfCheetah-v4", storage=storage, direction="maximize"
    )
    # another worker's finished trial, far above anything this one reaches: the median
    # pruner stops this trial at its first evaluation
    steps = range(512, 2049, 512)
    study.add_trial(
        optuna.trial.create_trial(value=1e9, intermediate_values=dict.fromkeys(steps, 1e9))
    )
    # a trial of this sweep folder left RUNNING by a killed sweep
    study.ask().set_user_attr("sweep_dir", str(sweep.resolve()))
    result = run_cli(
        "gail-train",
        "-m",
        "hparams_search=halfcheetah_optuna",
        "hydra.sweeper.n_trials=1",
        "hydra/sweeper/pruner=median",
        "hydra.sweeper.pruner.n_startup_trials=1",
        f"dataset.path={expert_file}",
        *TINY,
        "trainer.eval_every=512",
        "trainer.eval_episodes=1",
        "trainer.eval_in_background=false",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    states = [
        t.state for t in optuna.load_study(study_name=study.study_name, storage=storage).trials
    ]
    TrialState = optuna.trial.TrialState
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED]
    ((name, metrics),) = _metrics(sweep).items()
    assert metrics["pruned"] is True and metrics["env_steps"] == 512
    assert (sweep / name / "checkpoints" / "last.pt").is_file()
    assert main_report([str(sweep)]) == 0
    assert "1 runs (0 finished, 1 pruned, 0 partial)" in (sweep / "report.md").read_text()


def test_a_sweep_run_again_on_its_folder_finishes_it(tmp_path: Path, expert_file: Path) -> None:
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=0,1", f"dataset.path={expert_file}", *SHORT, f"hydra.sweep.dir={sweep}"]
    args.append("trainer.eval_in_background=false")  # no evaluation process to start
    assert run_cli("gail-train", *args).returncode == 0
    first = _metrics(sweep)
    finished, interrupted = sorted(sweep.glob("*/metrics.json"))
    finished_at = finished.stat().st_mtime_ns
    interrupted.unlink()  # as if killed after its last checkpoint
    result = run_cli("gail-train", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert finished.stat().st_mtime_ns == finished_at  # not run again
    assert "finished before (metrics.json); not run again" in result.stdout
    assert "resuming this sweep job from" in result.stdout
    again = _metrics(sweep)
    assert again.keys() == first.keys()
    name = interrupted.parent.name
    assert again[name]["env_steps"] == first[name]["env_steps"]


def test_two_optuna_workers_started_together_share_one_new_study(
    tmp_path: Path, expert_file: Path
) -> None:
    # both open a database that does not exist yet, at the same moment: creating its
    # tables must not race ("table studies already exists")
    storage = f"sqlite:///{tmp_path / 'shared' / 'optuna.db'}"
    (tmp_path / "shared").mkdir()
    workers = [
        subprocess.Popen(
            [
                str(BIN / "gail-train"),
                "-m",
                "hparams_search=halfcheetah_optuna",
                "hydra.sweeper.n_trials=2",
                f"hydra.sweeper.storage={storage}",
                f"hydra.sweeper.sampler.seed={seed}",
                f"hydra.sweep.dir={tmp_path / f'worker{seed}'}",
                f"dataset.path={expert_file}",
                *SHORT,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (0, 1)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
    trials = optuna.load_study(study_name="gail_HalfCheetah-v4", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert all(len(_metrics(tmp_path / f"worker{seed}")) == 2 for seed in (0, 1))


def test_storage_tables_are_made_once_by_racing_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'optuna.db'}"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(prepare_storage, [url] * 4)  # raises if any of them failed
    study = optuna.create_study(study_name="s", storage=url)
    assert optuna.load_study(study_name="s", storage=url).study_name == study.study_name


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
    assert any((sweep / ".submitit").glob("*/*_result.pkl"))  # it went through submitit


@pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None,
    reason="hydra-ray-launcher is not installed (pip install -e .[ray]; see README, Sweeps)",
)
def test_ray_runs_two_jobs_on_a_local_ray_cluster(tmp_path: Path, expert_file: Path) -> None:
    sweep = tmp_path / "ray"
    result = run_cli(
        "gail-train",
        "-m",
        "seed=0,1",
        "hydra/launcher=ray",
        "+hydra.launcher.ray.init.num_cpus=2",
        f"dataset.path={expert_file}",
        *SHORT,
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_metrics(sweep)) == 2


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
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert "dataset.num_trajectories=99 but the file holds only 3 episodes" in result.stderr
    (finished,) = _metrics(sweep)
    assert finished.startswith("1_HalfCheetah-v4_dataset.num_trajectories=1,")  # n_env_overrides


def test_an_optuna_search_whose_trials_all_fail_ends_with_one_line(
    tmp_path: Path, expert_file: Path
) -> None:
    sweep = tmp_path / "search"
    result = run_cli(
        "gail-train",
        "-m",
        "hparams_search=halfcheetah_optuna",
        "hydra.sweeper.n_trials=2",
        "dataset.num_trajectories=99",  # the file holds 3: every trial is refused
        f"dataset.path={expert_file}",
        *SHORT,
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no trial of study gail_HalfCheetah-v4 completed" in result.stderr
    study = optuna.load_study(
        study_name="gail_HalfCheetah-v4", storage=f"sqlite:///{sweep}/optuna.db"
    )
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2
