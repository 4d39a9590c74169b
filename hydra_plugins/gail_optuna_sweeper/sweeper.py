"""The sweep: ask Optuna for a batch of trials, launch them as jobs, tell the results.

Each job learns its trial through three environment variables (set with Hydra's
``hydra.job.env_set``, so every launcher carries them: basic, joblib, submitit, Slurm):
the storage URL, the study name and the trial number. A job that reports its evaluations
and is pruned tells the study itself (:mod:`gail_cli.run.trial`); the sweeper tells the
others COMPLETE or FAIL.

Running the command again on the same sweep folder goes on with its study: the trials
this sweep folder already finished (complete or pruned) count toward ``n_trials``, and
trials of this folder left RUNNING by a killed sweep are marked FAIL and run anew.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from gail_cli.run.trial import PRUNER_ATTR, STORAGE_VARIABLE, STUDY_VARIABLE, TRIAL_VARIABLE

from .config import PRUNERS
from .search_space import as_override, split_overrides

log = logging.getLogger(__name__)

# the trial's user attribute naming the sweep folder that ran it
SWEEP_DIR_ATTR = "sweep_dir"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _env_override(name: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"++hydra.job.env_set.{name}='{escaped}'"


def pruner_config(pruner: DictConfig | str | None) -> dict[str, Any] | None:
    """The pruner's config ({_target_: ..., args}); a name picks an option with its defaults."""
    if isinstance(pruner, str):
        if pruner not in PRUNERS:
            raise ValueError(
                f"hydra.sweeper.pruner={pruner} is unknown; choose one of {', '.join(PRUNERS)}"
            )
        return dataclasses.asdict(PRUNERS[pruner]())
    return OmegaConf.to_container(pruner) if pruner else None  # type: ignore[return-value]


class OptunaAskTellSweeper(Sweeper):
    """Hydra sweeper over ``optuna.Study.ask``/``tell``; see the module docstring."""

    def __init__(
        self,
        sampler: DictConfig | None,
        pruner: DictConfig | None,
        direction: str,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: DictConfig | None,
    ) -> None:
        self.sampler_config = OmegaConf.to_container(sampler) if sampler else None
        self.pruner_config = pruner_config(pruner)
        self.direction = direction
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.max_failure_rate = max_failure_rate
        self.params = OmegaConf.to_container(params) if params else {}
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.sweep_dir = str(Path(config.hydra.sweep.dir).resolve())

    # -- the study --------------------------------------------------------------------
    def _prunes(self) -> bool:
        target = (self.pruner_config or {}).get("_target_", "optuna.pruners.NopPruner")
        return target != "optuna.pruners.NopPruner"

    def _open_study(self) -> optuna.Study:
        if self._prunes() and not self.storage:
            raise ValueError(
                "hydra.sweeper.pruner needs a study storage shared with the jobs; set "
                "hydra.sweeper.storage (e.g. sqlite:///<sweep dir>/optuna.db)"
            )
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"hydra.sweeper.direction={self.direction!r}: minimize or maximize")
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            direction=self.direction,
            load_if_exists=True,
        )
        if study.direction.name.lower() != self.direction:
            raise ValueError(
                f"study {study.study_name} in {self.storage} is to "
                f"{study.direction.name.lower()}, not to {self.direction}; set "
                "hydra.sweeper.direction to match it or choose another study_name"
            )
        # a seeded sampler on a study that has trials already starts past them, so that a
        # resumed search does not draw its first random trials again
        sampler_config = dict(self.sampler_config or {})
        if sampler_config.get("seed") is not None and study.trials:
            sampler_config["seed"] = int(sampler_config["seed"]) + len(study.trials)
        study.sampler = instantiate(sampler_config) if sampler_config else study.sampler
        return study

    def _own_trials(self, study: optuna.Study) -> list[FrozenTrial]:
        return [t for t in study.trials if t.user_attrs.get(SWEEP_DIR_ATTR) == self.sweep_dir]

    def _fail_stale_trials(self, study: optuna.Study) -> None:
        """Trials of this sweep folder still RUNNING are left from a killed sweep."""
        for trial in self._own_trials(study):
            if trial.state == TrialState.RUNNING:
                log.info(f"trial {trial.number} was left running by an earlier sweep: FAIL")
                study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)

    # -- the sweep --------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> None:
        assert self.config is not None and self.launcher is not None
        space, fixed = split_overrides(self.params, arguments)
        study = self._open_study()
        self._fail_stale_trials(study)
        finished = sum(t.state in FINISHED for t in self._own_trials(study))
        log.info(
            f"Study {study.study_name}: {finished} of {self.n_trials} trials of this sweep "
            f"finished; sampler {type(study.sampler).__name__}, pruner "
            f"{(self.pruner_config or {}).get('_target_', 'none')}"
        )
        log.info(f"Search space: {', '.join(f'{k}: {v}' for k, v in space.items())}")
        launched = failures = 0
        job_num = len(self._own_trials(study))
        # a trial that fails in this run counts toward n_trials (the search goes on to the
        # next); the FAIL of an earlier, killed run does not (its trial is run anew)
        while finished + failures < self.n_trials:
            batch = min(self.n_jobs, self.n_trials - finished - failures)
            trials = [study.ask(space) for _ in range(batch)]
            overrides = [self._job_overrides(study, trial, fixed) for trial in trials]
            self.validate_batch_is_legal(overrides)
            results = self.launcher.launch(overrides, initial_job_idx=job_num)
            job_num += batch
            launched += batch
            for trial, result in zip(trials, results, strict=True):
                state = self._tell(study, trial, result)
                finished += state in FINISHED
                failures += state == TrialState.FAIL
            if failures / launched > self.max_failure_rate:
                raise RuntimeError(
                    f"{failures} of {launched} trials failed, more than "
                    f"hydra.sweeper.max_failure_rate={self.max_failure_rate}"
                )
        self._write_results(study)

    def _job_overrides(
        self, study: optuna.Study, trial: optuna.Trial, fixed: list[str]
    ) -> list[str]:
        trial.set_user_attr(SWEEP_DIR_ATTR, self.sweep_dir)
        overrides = [as_override(k, v) for k, v in trial.params.items()] + fixed
        if self.storage:
            trial.set_user_attr(PRUNER_ATTR, self.pruner_config)
            overrides += [
                _env_override(STORAGE_VARIABLE, self.storage),
                _env_override(STUDY_VARIABLE, study.study_name),
                _env_override(TRIAL_VARIABLE, str(trial.number)),
            ]
        return overrides

    def _tell(self, study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> TrialState:
        """Record a job's outcome; a trial the job already finished (pruned) stays as it is."""
        value = result.return_value if result.status == JobStatus.COMPLETED else None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return study.tell(trial, float(value), skip_if_finished=True).state
        recorded = study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        if recorded.state == TrialState.FAIL:
            log.warning(f"trial {trial.number} failed (job status {result.status.name})")
        return recorded.state

    def _write_results(self, study: optuna.Study) -> None:
        """optimization_results.yaml in the sweep folder: the best complete trial so far."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
            if pruned:  # pruned trials are results, not failures: nothing to rank, though
                log.info(f"Every trial of study {study.study_name} was pruned; no best trial")
                return
            raise RuntimeError(f"no trial of study {study.study_name} completed; no best trial")
        best = study.best_trial
        results = {
            "name": "optuna",
            "best_params": best.params,
            "best_value": best.value,
            "best_trial": best.number,
        }
        Path(self.sweep_dir).mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(results), Path(self.sweep_dir, "optimization_results.yaml"))
        log.info(f"Best trial {best.number}: value {best.value}, parameters {best.params}")
