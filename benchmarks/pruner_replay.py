"""What the median pruner would have saved on a finished search run without pruning.

A search without pruning records every trial's score at every evaluation. Replaying those
curves through Optuna's MedianPruner, in the order the trials ran (``--jobs`` at a time,
each batch seeing only the trials finished before it), gives the env steps a pruned search
would have spent and the best final score it would have kept, for each pruner setting,
without running it. The replay assumes the pruned search asks for the same parameters:
true for the sampler's random start-up trials (TPE's first ``n_startup_trials`` with the
same seed; ``--first 10``), an approximation after them, since a sampler learns from pruned
trials too. A pruned trial is charged the env step it was pruned at.

    python benchmarks/pruner_replay.py multirun/optuna/gail_Hopper-v4/optuna.db \\
        --jobs 2 --startup 2 5 --warmup 0 100000 150000
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState


@dataclass(frozen=True)
class Replay:
    """One pruner setting's outcome over the recorded trials."""

    env_steps: int  # spent by the pruned search
    full_env_steps: int  # spent by the recorded (unpruned) search
    best: float  # best final score among the trials left to finish
    recorded_best: float
    pruned: int  # trials pruned


def curve(trial: FrozenTrial) -> list[tuple[int, float]]:
    """(env step, score) of each evaluation, in order."""
    return sorted(trial.intermediate_values.items())


def replay(
    trials: list[FrozenTrial], jobs: int, pruner: optuna.pruners.BasePruner, maximize: bool
) -> Replay:
    """Run ``trials`` (COMPLETE, with curves) through ``pruner``, ``jobs`` at a time."""
    direction = "maximize" if maximize else "minimize"
    study = optuna.create_study(direction=direction, pruner=pruner)
    better = max if maximize else min
    spent, pruned, best = 0, 0, None
    for start in range(0, len(trials), jobs):
        outcomes = []
        for recorded in trials[start : start + jobs]:
            trial, stopped_at = study.ask(), None
            for step, score in curve(recorded):
                trial.report(score, step)
                if trial.should_prune():
                    stopped_at = step
                    break
            outcomes.append((trial, recorded, stopped_at))
        for trial, recorded, stopped_at in outcomes:  # the batch ends together
            if stopped_at is None:
                study.tell(trial, recorded.value)
                spent += curve(recorded)[-1][0]
                best = recorded.value if best is None else better(best, recorded.value)
            else:
                study.tell(trial, state=TrialState.PRUNED)
                spent += stopped_at
                pruned += 1
    values = [t.value for t in trials]
    return Replay(
        env_steps=spent,
        full_env_steps=sum(curve(t)[-1][0] for t in trials),
        best=float("nan") if best is None else best,
        recorded_best=better(values),
        pruned=pruned,
    )


def recorded_trials(storage: str, study_name: str | None) -> tuple[list[FrozenTrial], bool]:
    """The study's finished trials that carry a curve, in trial order; True to maximize."""
    names = optuna.get_all_study_names(storage)
    if study_name is None:
        if len(names) != 1:
            raise SystemExit(f"pruner_replay: error: pick one of the studies with --study: {names}")
        study_name = names[0]
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.intermediate_values
    ]
    return sorted(trials, key=lambda t: t.number), study.direction.name == "MAXIMIZE"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="the study's SQLite file, or a storage URL")
    parser.add_argument("--study", default=None, help="study name (needed if it holds several)")
    parser.add_argument("--jobs", type=int, default=1, help="trials the search ran at once")
    parser.add_argument("--first", type=int, default=None, help="replay the first N trials")
    parser.add_argument("--startup", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--warmup", type=int, nargs="+", default=[0], help="env steps")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if "://" not in args.database and not Path(args.database).is_file():
        # SQLite would create an empty database there
        print(f"pruner_replay: error: no such file: {args.database}", file=sys.stderr)
        return 1
    storage = args.database if "://" in args.database else f"sqlite:///{args.database}"
    trials, maximize = recorded_trials(storage, args.study)
    trials = trials[: args.first]
    if not trials:
        print("pruner_replay: error: no finished trial with evaluations", file=sys.stderr)
        return 1
    print(f"{len(trials)} trials replayed, {args.jobs} at a time")
    print(
        "| n_startup_trials | n_warmup_steps | env steps (of unpruned) | pruned | best (unpruned) |"
    )
    print("|---|---|---|---|---|")
    for startup, warmup in itertools.product(args.startup, args.warmup):
        pruner = optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
        r = replay(trials, args.jobs, pruner, maximize)
        print(
            f"| {startup} | {warmup:,} | {r.env_steps:,} ({r.env_steps / r.full_env_steps:.2f}) "
            f"| {r.pruned} | {r.best:.3f} ({r.recorded_best:.3f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
