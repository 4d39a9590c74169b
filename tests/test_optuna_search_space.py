"""The Optuna sweeper's reading of Hydra sweep overrides and its pruner options."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.gail_optuna_sweeper.search_space import (
    SearchSpaceError,
    as_override,
    split_overrides,
)
from hydra_plugins.gail_optuna_sweeper.sweeper import pruner_config


def test_each_sweep_kind_becomes_its_distribution() -> None:
    params = {
        "ppo.lr": "tag(log, interval(1e-5, 1e-3))",
        "ppo.ent_coef": "interval(0.0, 0.01)",
        "discriminator.disc_update_num": "choice(1, 2, 4, 8)",
        "ppo.batch_size": "range(64, 256, 64)",
        "policy.activation": "tanh,relu",
        "trainer.num_envs": "tag(log, int(interval(1, 16)))",
    }
    space, fixed = split_overrides(params, [])
    assert fixed == []
    assert space["ppo.lr"] == FloatDistribution(1e-5, 1e-3, log=True)
    assert space["ppo.ent_coef"] == FloatDistribution(0.0, 0.01)
    assert space["discriminator.disc_update_num"] == CategoricalDistribution((1, 2, 4, 8))
    assert space["ppo.batch_size"] == IntDistribution(64, 256, step=64)
    assert space["policy.activation"] == CategoricalDistribution(("tanh", "relu"))
    assert space["trainer.num_envs"] == IntDistribution(1, 16, log=True)


def test_the_command_line_replaces_a_range_or_fixes_the_key() -> None:
    params = {"ppo.lr": "interval(1e-4, 1e-3)", "ppo.ent_coef": "interval(0.0, 0.01)"}
    space, fixed = split_overrides(
        params, ["ppo.lr=choice(1e-4, 3e-4)", "ppo.ent_coef=0.0", "seed=3"]
    )
    assert space == {"ppo.lr": CategoricalDistribution((1e-4, 3e-4))}
    assert fixed == ["ppo.ent_coef=0.0", "seed=3"]


def test_a_range_optuna_cannot_sample_is_refused() -> None:
    # Hydra's plugin scan re-executes hydra_plugins modules once an app has run in this
    # process, so the class is matched by name rather than by identity
    with pytest.raises(ValueError, match=r"ppo.lr=tag\(log, interval\(0.0, 1.0\)\)") as caught:
        split_overrides({"ppo.lr": "tag(log, interval(0.0, 1.0))"}, [])
    assert type(caught.value).__name__ == SearchSpaceError.__name__


@pytest.mark.parametrize("value", ["Hopper-v4", "it's", 3, 2.5e-4, True, None])
def test_a_sampled_value_reads_back_as_itself(value: object) -> None:
    (override,) = OverridesParser.create().parse_overrides([as_override("key", value)])
    assert override.value() == value


def test_a_pruner_is_chosen_by_name_or_by_its_config() -> None:
    assert pruner_config("median") == {
        "_target_": "optuna.pruners.MedianPruner",
        "n_startup_trials": 5,
        "n_warmup_steps": 0,
        "interval_steps": 1,
        "n_min_trials": 1,
    }
    assert pruner_config(None) is None
    with pytest.raises(ValueError, match=r"hydra\.sweeper\.pruner=mean is unknown"):
        pruner_config("mean")
