"""Every config group option and contract override key composes and types correctly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import DictConfig, open_dict

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.errors import GailError
from gail_cli.run.build import typed
from gail_cli.run.env_tuning import drop_foreign_tuning
from gail_cli.settings import DiscriminatorConfig, NetConfig, PolicyConfig, PPOConfig, TrainerConfig

CONF = Path(__file__).resolve().parents[1] / "conf"
ENV_OPTIONS = sorted(p.stem for p in (CONF / "env").glob("*.yaml"))


def _compose(name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        return compose(name, overrides=overrides)


def test_the_contract_envs_are_all_options() -> None:
    for env in ("HalfCheetah", "Hopper", "Walker2d"):
        assert f"{env}-v4" in ENV_OPTIONS and f"{env}-v5" in ENV_OPTIONS


@pytest.mark.parametrize("env", ENV_OPTIONS)
def test_each_env_option_composes_with_its_gymnasium_id_and_default_dataset(env: str) -> None:
    cfg = _compose("train", [f"env={env}"])
    assert cfg.env.id == env
    assert cfg.dataset.path.endswith(f"experts/{cfg.env.expert_file}")
    assert Path(cfg.dataset.path).is_absolute()


@pytest.mark.parametrize("env", ENV_OPTIONS)
def test_expert_config_composes_for_each_env(env: str) -> None:
    cfg = _compose("expert", [f"env={env}"])
    assert cfg.env.id == env
    tuning = CONF / "expert_tuning" / f"{env}.yaml"
    budget = yaml.safe_load(tuning.read_text())["trainer"] if tuning.is_file() else {}
    # an env's expert settings win over expert.yaml's own trainer keys
    assert cfg.trainer.total_env_steps == budget.get("total_env_steps", 3_000_000)
    assert cfg.trainer.eval_every == budget.get("eval_every", 100_000)
    assert "discriminator" not in cfg


CONTRACT_OVERRIDES = {
    "seed": 7,
    "device": "cpu",
    "dataset.path": "/tmp/x.hdf5",
    "dataset.num_trajectories": 4,
    "trainer.total_env_steps": 5000,
    "trainer.num_envs": 4,
    "trainer.steps_per_collect": 512,
    "trainer.eval_episodes": 3,
    "ppo.eps_clip": 0.1,
    "ppo.dual_clip": 3.0,
    "ppo.value_clip": True,
    "ppo.advantage_normalization": False,
    "ppo.recompute_advantage": True,
    "ppo.vf_coef": 0.25,
    "ppo.ent_coef": 0.01,
    "ppo.max_grad_norm": 1.0,
    "ppo.gae_lambda": 0.9,
    "ppo.max_batchsize": 128,
    "ppo.gamma": 0.98,
    "ppo.return_scaling": True,
    "ppo.lr": 1e-4,
    "ppo.repeat_per_collect": 5,
    "ppo.batch_size": 32,
    "discriminator.disc_update_num": 2,
    "discriminator.lr": 1e-4,
    "discriminator.hidden_sizes": [32, 32],
    "policy.hidden_sizes": [32],
    "critic.hidden_sizes": [128, 128],
}


def _as_override(key: str, value: object) -> str:
    text = str(value).replace(" ", "").lower() if isinstance(value, (bool, list)) else value
    return f"{key}={text}"


def test_every_contract_key_overrides_and_reaches_the_typed_settings() -> None:
    cfg = _compose("train", [_as_override(k, v) for k, v in CONTRACT_OVERRIDES.items()])
    for key, value in CONTRACT_OVERRIDES.items():
        node: object = cfg
        for part in key.split("."):
            node = node[part]  # type: ignore[index]
        assert (list(node) if key.endswith("hidden_sizes") else node) == value, key  # type: ignore[call-overload]
    ppo = typed(PPOConfig, cfg.ppo, "ppo")
    assert (ppo.dual_clip, ppo.batch_size, ppo.gamma) == (3.0, 32, 0.98)
    trainer = typed(TrainerConfig, cfg.trainer, "trainer")
    assert trainer.steps_per_env == 128
    disc = typed(DiscriminatorConfig, cfg.discriminator, "discriminator")
    assert disc.disc_update_num == 2


def test_dual_clip_null_disables() -> None:
    cfg = _compose("train", ["ppo.dual_clip=null"])
    assert typed(PPOConfig, cfg.ppo, "ppo").dual_clip is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ppo.lr=abc", r"ppo\.lr='abc' has the wrong type: expected a number"),
        ("ppo.batch_size=1.5", r"ppo\.batch_size=1.5 has the wrong type: expected an integer"),
        ("ppo.value_clip=3", r"ppo\.value_clip=3 has the wrong type: expected true or false"),
        ("ppo.gamma=1.5", r"ppo\.gamma=1.5 is out of range: it must be in \[0, 1\]"),
        ("trainer.steps_per_collect=100", r"trainer\.steps_per_collect=100 is out of range"),
        ("trainer.total_env_steps=-5", r"trainer\.total_env_steps=-5 is out of range"),
        ("trainer.bc_init_steps=-1", r"trainer\.bc_init_steps=-1 is out of range: it must be >= 0"),
        ("trainer.critic_warmup_steps=-1", r"trainer\.critic_warmup_steps=-1 is out of range"),
        ("trainer.bc_init_steps=2.5", r"trainer\.bc_init_steps=2.5 has the wrong type"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(override: str, message: str) -> None:
    cfg = _compose("train", [override])
    with pytest.raises(GailError, match=message):
        typed(PPOConfig, cfg.ppo, "ppo")
        typed(TrainerConfig, cfg.trainer, "trainer")


@pytest.mark.parametrize("env", ENV_OPTIONS)
def test_the_composed_config_names_the_tuned_keys_and_holds_their_values(env: str) -> None:
    cfg = _compose("train", [f"env={env}"])
    if not (CONF / "env" / "gail" / f"{env}.yaml").is_file():  # generic defaults (Ant, ...)
        assert cfg.env_tuning is None
        return
    tuned = yaml.safe_load((CONF / cfg.env_tuning.file).read_text())
    # -v5 options use their -v4 file
    assert cfg.env_tuning.file == f"env/gail/{env.replace('-v5', '-v4')}.yaml"
    for key in cfg.env_tuning.sets:
        group, name = key.split(".")
        assert cfg[group][name] == tuned[group][name]


def test_a_command_line_override_beats_the_tuned_value() -> None:
    cfg = _compose("train", ["env=Hopper-v4", "ppo.lr=2e-4"])
    assert "ppo.lr" in cfg.env_tuning.sets and cfg.ppo.lr == 2e-4


def _compose_with_choices(overrides: list[str]) -> tuple[DictConfig, dict[str, str]]:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        full = compose("train", overrides=overrides, return_hydra_config=True)
    choices = dict(full.hydra.runtime.choices)
    with open_dict(full):
        del full["hydra"]
    return full, choices


def test_another_env_id_gets_the_generic_defaults_not_the_env_options_tuning() -> None:
    overrides = ["env.id=Pendulum-v1", "ppo.lr=2e-4"]
    cfg, choices = _compose_with_choices(overrides)
    assert choices["env"] == "HalfCheetah-v4" and cfg.policy.log_std_init == -1.5
    reset = drop_foreign_tuning(cfg, choices, overrides)
    assert cfg.env_tuning is None
    assert "policy.log_std_init" in reset and "trainer.bc_init_steps" in reset
    # the group defaults, which config.py's dataclasses hold too
    assert cfg.policy.log_std_init == PolicyConfig().log_std_init
    assert cfg.trainer.bc_init_steps == TrainerConfig().bc_init_steps
    assert cfg.discriminator.reward_form == DiscriminatorConfig().reward_form
    # list-valued keys too: HalfCheetah's wider nets go back to the group's
    assert "policy.hidden_sizes" in reset and "critic.hidden_sizes" in reset
    assert list(cfg.policy.hidden_sizes) == list(PolicyConfig().hidden_sizes)
    assert list(cfg.critic.hidden_sizes) == list(NetConfig().hidden_sizes)


def test_the_env_options_own_id_keeps_its_tuning_and_command_line_values_stay() -> None:
    cfg, choices = _compose_with_choices(["env=Hopper-v4"])
    assert drop_foreign_tuning(cfg, choices, ["env=Hopper-v4"]) == []
    assert cfg.env_tuning is not None and cfg.ppo.lr == 1e-4
    overrides = ["env=Hopper-v4", "env.id=InvertedPendulum-v4", "ppo.lr=2e-4"]
    cfg, choices = _compose_with_choices(overrides)
    reset = drop_foreign_tuning(cfg, choices, overrides)
    assert "ppo.lr" not in reset and cfg.ppo.lr == 2e-4
    assert cfg.discriminator.absorbing is DiscriminatorConfig().absorbing
