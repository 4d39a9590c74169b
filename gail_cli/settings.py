"""Typed settings of a training and their range checks: the one source of defaults.

Each dataclass mirrors one config group (``conf/<group>/*.yaml``); its defaults are the
product's defaults and equal the group file's values (``tests/test_config.py`` checks
that). Where a default differs from the seed's (Tianshou 2's GAIL/PPO), the seed's value
is noted beside it. Per-env tuned settings (``conf/env/gail/<env>.yaml``) override these
for gail-train; docs/configuration.md lists them.

Bad values raise :class:`GailError` naming the key, its value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gail_cli.errors import GailError

ACTIVATION_NAMES = ("tanh", "relu", "elu")
REWARD_FORM_NAMES = ("gail", "airl", "log_d")
OBS_NORMALIZATION_MODES = ("running", "expert", "off")
VECTOR_MODES = ("sync", "async")


def check_ranges(group: str, config: object, checks: dict[str, tuple[bool, str]]) -> None:
    """Raise GailError for the first parameter whose check failed.

    ``checks`` maps a field name to (value is allowed, description of the allowed values).
    """
    for name, (ok, allowed) in checks.items():
        if not ok:
            value = getattr(config, name)
            raise GailError(
                f"{group}.{name}={value} is out of range: it must be {allowed}; "
                f"fix it with {group}.{name}=<value>"
            )


def _net_checks(hidden_sizes: list[int], activation: str) -> dict[str, tuple[bool, str]]:
    return {
        "hidden_sizes": (all(h >= 1 for h in hidden_sizes), "positive layer sizes"),
        "activation": (activation in ACTIVATION_NAMES, f"one of {sorted(ACTIVATION_NAMES)}"),
    }


@dataclass
class NetConfig:
    """An MLP's shape (conf/critic/mlp.yaml)."""

    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"

    def __post_init__(self) -> None:
        check_ranges("net", self, _net_checks(self.hidden_sizes, self.activation))


@dataclass
class PolicyConfig(NetConfig):
    """The Gaussian actor (conf/policy/mlp.yaml): its mean MLP and initial log std."""

    log_std_init: float = -0.5


@dataclass
class PPOConfig:
    """PPO hyperparameters (conf/ppo/default.yaml); names and meaning follow the seed."""

    lr: float = 3e-4
    # linear decay to 0 over trainer.total_env_steps; not in the seed (no decay)
    lr_decay: bool = True
    repeat_per_collect: int = 10
    batch_size: int = 64
    eps_clip: float = 0.2
    dual_clip: float | None = None
    value_clip: bool = False
    # the seed's: True
    advantage_normalization: bool = False
    # the seed's: False
    recompute_advantage: bool = True
    # the seed's: 0.5
    vf_coef: float = 0.25
    # the seed's: 0.01
    ent_coef: float = 0.0
    # the seed's: None
    max_grad_norm: float | None = 0.5
    gae_lambda: float = 0.95
    # rows per no-grad pass (values, log-probs); the seed's: 256
    max_batchsize: int = 2048
    gamma: float = 0.99
    # the seed's: False
    return_scaling: bool = True

    def __post_init__(self) -> None:
        checks = {
            "lr": (self.lr > 0, "> 0"),
            "repeat_per_collect": (self.repeat_per_collect >= 1, ">= 1"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "eps_clip": (self.eps_clip > 0, "> 0"),
            "dual_clip": (self.dual_clip is None or self.dual_clip > 1, "null or > 1"),
            "vf_coef": (self.vf_coef >= 0, ">= 0"),
            "ent_coef": (self.ent_coef >= 0, ">= 0"),
            "max_grad_norm": (self.max_grad_norm is None or self.max_grad_norm > 0, "null or > 0"),
            "gae_lambda": (0 <= self.gae_lambda <= 1, "in [0, 1]"),
            "max_batchsize": (self.max_batchsize >= 1, ">= 1"),
            "gamma": (0 <= self.gamma <= 1, "in [0, 1]"),
        }
        check_ranges("ppo", self, checks)


@dataclass
class DiscriminatorConfig:
    """The discriminator (conf/discriminator/mlp.yaml): its MLP and its optimization."""

    hidden_sizes: list[int] = field(default_factory=lambda: [100, 100])
    activation: str = "tanh"
    spectral_norm: bool = False
    lr: float = 3e-4
    # discriminator steps per policy update, each on a slice of the rollout
    disc_update_num: int = 4
    # coefficient of the (||grad d|| - 1)^2 penalty; the seed's: 0 (off)
    grad_penalty: float = 10.0
    # the gradient norm the penalty pulls toward: 1 (WGAN-GP) or 0 (zero-centred)
    grad_penalty_target: float = 1.0
    reward_form: str = "gail"
    # noise of the policy's std on the expert's actions; the seed's: False
    expert_action_noise: bool = True
    lr_decay: bool = False
    # absorbing states at terminations (Kostrikov et al. 2019); see gail.py
    absorbing: bool = False

    def __post_init__(self) -> None:
        check_ranges(
            "discriminator",
            self,
            {
                **_net_checks(self.hidden_sizes, self.activation),
                "lr": (self.lr > 0, "> 0"),
                "disc_update_num": (self.disc_update_num >= 1, ">= 1"),
                "grad_penalty": (self.grad_penalty >= 0, ">= 0"),
                "grad_penalty_target": (self.grad_penalty_target >= 0, ">= 0"),
                "reward_form": (
                    self.reward_form in REWARD_FORM_NAMES,
                    f"one of {list(REWARD_FORM_NAMES)}",
                ),
            },
        )


@dataclass
class TrainerConfig:
    """The training loop's budget and cadence (conf/trainer/default.yaml); counts are
    env steps unless named otherwise."""

    total_env_steps: int = 1_000_000
    num_envs: int = 8
    steps_per_collect: int = 2048
    eval_episodes: int = 10
    eval_every: int = 50_000
    obs_normalization: str = "running"
    vector_mode: str = "sync"
    eval_in_background: bool = True
    bc_init_steps: int = 0
    critic_warmup_steps: int = 0
    # a decaying behavioral-cloning term during GAIL (bc.CloneLoss); 0 = off
    bc_loss_coef: float = 0.0
    # the fraction of the budget after which its weight is 0
    bc_loss_decay: float = 0.5

    def __post_init__(self) -> None:
        check_ranges(
            "trainer",
            self,
            {
                "total_env_steps": (self.total_env_steps >= 1, ">= 1"),
                "num_envs": (self.num_envs >= 1, ">= 1"),
                "steps_per_collect": (
                    self.num_envs < 1  # refused by the num_envs check above
                    or (
                        self.steps_per_collect >= self.num_envs
                        and self.steps_per_collect % self.num_envs == 0
                    ),
                    f"a positive multiple of trainer.num_envs={self.num_envs}",
                ),
                "eval_episodes": (self.eval_episodes >= 1, ">= 1"),
                "eval_every": (self.eval_every >= 1, ">= 1"),
                "bc_init_steps": (self.bc_init_steps >= 0, ">= 0 (0 = off)"),
                "critic_warmup_steps": (self.critic_warmup_steps >= 0, ">= 0 (0 = off)"),
                "bc_loss_coef": (self.bc_loss_coef >= 0, ">= 0 (0 = off)"),
                "bc_loss_decay": (0 < self.bc_loss_decay <= 1, "in (0, 1]"),
                "vector_mode": (self.vector_mode in VECTOR_MODES, f"one of {VECTOR_MODES}"),
                "obs_normalization": (
                    self.obs_normalization in OBS_NORMALIZATION_MODES,
                    f"one of {OBS_NORMALIZATION_MODES}",
                ),
            },
        )

    @property
    def steps_per_env(self) -> int:
        return self.steps_per_collect // self.num_envs
