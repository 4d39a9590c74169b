"""The Optuna trial a search job runs: report each evaluation, stop when pruned.

The search's sweeper (``hydra/sweeper=optuna_ask_tell``) hands each job its study's
storage URL, the study name and the trial number in three environment variables. The job
reports its score at every evaluation to that trial through the storage, so pruning works
whichever launcher ran the job (in the sweeper's process, a joblib worker, a Slurm node),
and asks the trial's pruner whether to stop. A pruned job records the trial PRUNED
itself; the sweeper then leaves it so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

STORAGE_VARIABLE = "GAIL_OPTUNA_STORAGE"
STUDY_VARIABLE = "GAIL_OPTUNA_STUDY"
TRIAL_VARIABLE = "GAIL_OPTUNA_TRIAL"
# the trial's user attribute holding its pruner's config ({_target_: ..., args})
PRUNER_ATTR = "pruner"


class StudyTrial:
    """One Optuna trial seen from its job: ``report`` scores, ``prune`` it."""

    def __init__(self, storage: str, study_name: str, number: int) -> None:
        import optuna
        from hydra.utils import instantiate

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name=study_name, storage=storage)
        frozen = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
        if frozen is None:
            raise LookupError(f"study {study_name} in {storage} has no trial {number}")
        pruner = frozen.user_attrs.get(PRUNER_ATTR)
        if pruner:
            study.pruner = instantiate(pruner)
        self.study, self.number = study, number
        self.trial = optuna.Trial(study, frozen._trial_id)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> StudyTrial | None:
        """The trial this process runs, or None outside a search."""
        if TRIAL_VARIABLE not in environ:
            return None
        return cls(environ[STORAGE_VARIABLE], environ[STUDY_VARIABLE], int(environ[TRIAL_VARIABLE]))

    def report(self, env_step: int, score: float) -> bool:
        """Record ``score`` at ``env_step``; True when the pruner says stop here."""
        self.trial.report(score, env_step)
        return self.trial.should_prune()

    def prune(self) -> None:
        """Record the trial PRUNED (its value: the last reported score)."""
        import optuna

        self.study.tell(self.trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)


def evaluation_score(scalars: Mapping[str, Any]) -> float | None:
    """The score a search ranks an evaluation by: eval/normalized_return, else eval/return."""
    value = scalars.get("eval/normalized_return", scalars.get("eval/return"))
    return None if value is None else float(value)
