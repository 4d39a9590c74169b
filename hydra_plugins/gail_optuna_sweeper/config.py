"""The sweeper's config node and its sampler and pruner options, stored in Hydra's ConfigStore.

The keys mirror Hydra's Optuna sweeper, so that a preset moves to an upstream release by
changing ``override /hydra/sweeper: optuna_ask_tell`` alone. ``pruner`` is this plugin's
addition: ``hydra/sweeper/pruner=median`` (or ``none``, ``successive_halving``,
``hyperband``) picks an Optuna pruner, ``hydra.sweeper.pruner.<arg>=...`` sets its arguments.
"""

# no `from __future__ import annotations`: Hydra imports this module without registering
# it in sys.modules first, and dataclasses then cannot resolve string annotations
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

SWEEPER_GROUP = "hydra/sweeper"
SWEEPER_NAME = "optuna_ask_tell"


@dataclass
class TPESamplerConf:
    """optuna.samplers.TPESampler: the first n_startup_trials are random, then TPE."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None
    n_startup_trials: int = 10
    n_ei_candidates: int = 24
    multivariate: bool = False
    group: bool = False
    constant_liar: bool = False


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class CmaEsSamplerConf:
    """optuna.samplers.CmaEsSampler (needs the ``cmaes`` package)."""

    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: int | None = None
    n_startup_trials: int = 1
    sigma0: float | None = None
    restart_strategy: str | None = None


@dataclass
class QMCSamplerConf:
    _target_: str = "optuna.samplers.QMCSampler"
    seed: int | None = None
    qmc_type: str = "sobol"
    scramble: bool = True


@dataclass
class NopPrunerConf:
    """No pruning: every trial runs to its full budget."""

    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConf:
    """Stops a trial whose score at an evaluation is below the median of the other trials'
    scores at the same env step (n_warmup_steps: env steps before any pruning)."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class SuccessiveHalvingPrunerConf:
    """Asynchronous successive halving; min_resource "auto" or env steps."""

    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"
    reduction_factor: int = 4
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0


@dataclass
class HyperbandPrunerConf:
    """Hyperband over successive halving; max_resource "auto" or env steps."""

    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1
    max_resource: Any = "auto"
    reduction_factor: int = 3
    bootstrap_count: int = 0


@dataclass
class OptunaAskTellSweeperConf:
    """hydra.sweeper of ``hydra/sweeper=optuna_ask_tell``."""

    _target_: str = "hydra_plugins.gail_optuna_sweeper.sweeper.OptunaAskTellSweeper"
    # the sweeper builds the sampler and pruner itself (it offsets the sampler seed on a
    # resumed study and hands the pruner's config to each trial)
    _recursive_: bool = False
    defaults: list[Any] = field(
        default_factory=lambda: ["_self_", {"sampler": "tpe"}, {"pruner": "none"}]
    )
    sampler: Any = None
    pruner: Any = None
    # "maximize" or "minimize" the value each job returns
    direction: str = "minimize"
    # Optuna storage URL; null keeps the study in memory (no pruning, no resume)
    storage: str | None = None
    study_name: str | None = None
    # trials of this sweep (its sweep dir) to finish, complete or pruned
    n_trials: int = 20
    # trials asked for and launched together, one batch at a time
    n_jobs: int = 2
    # the sweep stops with an error once this fraction of its trials failed
    max_failure_rate: float = 0.0
    # the search space: key -> choice(...), range(...), interval(...), tag(log, ...)
    params: dict[str, str] | None = None


# the pruner options by name: hydra/sweeper/pruner=<name>, or hydra.sweeper.pruner=<name>
PRUNERS = {
    "none": NopPrunerConf,
    "median": MedianPrunerConf,
    "successive_halving": SuccessiveHalvingPrunerConf,
    "hyperband": HyperbandPrunerConf,
}


def register_configs() -> None:
    store = ConfigStore.instance()
    store.store(group=SWEEPER_GROUP, name=SWEEPER_NAME, node=OptunaAskTellSweeperConf)
    samplers = {
        "tpe": TPESamplerConf,
        "random": RandomSamplerConf,
        "cmaes": CmaEsSamplerConf,
        "qmc": QMCSamplerConf,
    }
    for name, node in samplers.items():
        store.store(group=f"{SWEEPER_GROUP}/sampler", name=name, node=node)
    for name, node in PRUNERS.items():
        store.store(group=f"{SWEEPER_GROUP}/pruner", name=name, node=node)


register_configs()
