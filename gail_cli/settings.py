"""Typed settings of a training and their range checks: the one source of defaults.

Each dataclass mirrors one config group (``conf/<group>/*.yaml``). Every field is declared
with :func:`setting`: its default, a one-line meaning and, where ours differs, the default
of Tianshou 2's GAIL/PPO. The group files and the key tables of
docs/configuration.md are generated from these declarations (``make docs``, which runs
``python -m gail_cli.run.settings_docs``); a test fails when a generated file is stale.
Per-env tuned settings (``conf/env/gail/<env>.yaml``) override these for gail-train.

Bad values raise :class:`GailError` naming the key, its value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gail_cli.errors import GailError

ACTIVATION_NAMES = ("tanh", "relu", "elu")
REWARD_FORM_NAMES = ("gail", "airl", "log_d")
OBS_NORMALIZATION_MODES = ("running", "expert", "off")
VECTOR_MODES = ("sync", "async")
PPO_GRADIENTS = ("auto", "autograd", "manual")

# metadata keys of a setting's field
DOC = "doc"
TIANSHOU_DEFAULT = "tianshou_default"
_AS_OURS = object()  # Tianshou 2's default is ours (or it has no such parameter)


def setting(default: Any, doc: str, tianshou: Any = _AS_OURS) -> Any:
    """A dataclass field with its default and its one-line meaning.

    ``tianshou`` is Tianshou 2's default where it differs from ours (None is a value:
    its null); left out, the two agree. A list default is copied for each instance.
    """
    metadata: dict[str, Any] = {DOC: doc}
    if tianshou is not _AS_OURS:
        metadata[TIANSHOU_DEFAULT] = tianshou
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


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
    """An MLP's shape: the critic (conf/critic/mlp.yaml), also the actor's mean."""

    hidden_sizes: list[int] = setting([64, 64], "units of each hidden layer")
    activation: str = setting("tanh", "hidden-layer activation: tanh, relu or elu")

    def __post_init__(self) -> None:
        check_ranges("net", self, _net_checks(self.hidden_sizes, self.activation))


@dataclass
class PolicyConfig(NetConfig):
    """The actor (conf/policy/mlp.yaml): an MLP giving the mean of a diagonal Gaussian
    with a learned, state-independent log std (logits of a categorical for discrete
    actions); actions are clipped to the env's bounds."""

    log_std_init: float = setting(-0.5, "initial log std of the Gaussian (continuous actions)")


@dataclass
class PPOConfig:
    """PPO (conf/ppo/default.yaml): names and meaning follow Tianshou 2's
    GAIL/PPO; the defaults are tuned for MuJoCo locomotion."""

    lr: float = setting(3e-4, "Adam learning rate of actor and critic (each its own step count)")
    lr_decay: bool = setting(
        True, "decay lr linearly to 0 over trainer.total_env_steps", tianshou=False
    )
    repeat_per_collect: int = setting(10, "epochs over each rollout")
    batch_size: int = setting(64, "minibatch size, in env steps")
    eps_clip: float = setting(0.2, "clip range of the probability ratio, [1 - eps, 1 + eps]")
    dual_clip: float | None = setting(
        None, "c > 1 floors the objective at c * A for negative advantages; null = off"
    )
    value_clip: bool = setting(False, "pessimistic clipped value loss with the same eps_clip")
    advantage_normalization: bool = setting(
        False, "normalize advantages per minibatch", tianshou=True
    )
    recompute_advantage: bool = setting(
        True, "recompute values and GAE before every epoch", tianshou=False
    )
    vf_coef: float = setting(0.25, "weight of the value loss", tianshou=0.5)
    ent_coef: float = setting(0.0, "weight of the entropy bonus", tianshou=0.01)
    max_grad_norm: float | None = setting(
        0.5, "clip the gradient's global norm to this; null = off", tianshou=None
    )
    gae_lambda: float = setting(0.95, "GAE lambda, in [0, 1]")
    max_batchsize: int = setting(
        2048, "rows per no-grad pass of values, log-probs and rewards (speed only)", tianshou=256
    )
    gamma: float = setting(0.99, "discount factor, in [0, 1]")
    return_scaling: bool = setting(
        True,
        "divide value targets by the running std (not centred) of discounted reward sums",
        tianshou=False,
    )
    gradient: str = setting(
        "auto",
        "which gradient of the same loss runs: autograd, manual (derived by hand, "
        "Gaussian MLP actors only, faster on CPU), auto (manual where it applies)",
    )

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
            "gradient": (self.gradient in PPO_GRADIENTS, f"one of {list(PPO_GRADIENTS)}"),
        }
        check_ranges("ppo", self, checks)


@dataclass
class DiscriminatorConfig:
    """The discriminator (conf/discriminator/mlp.yaml, gail-train only): an MLP on
    [obs, act] ending in one unbounded logit d (positive = expert), and its optimization."""

    hidden_sizes: list[int] = setting([100, 100], "units of each hidden layer")
    activation: str = setting("tanh", "hidden-layer activation: tanh, relu or elu")
    spectral_norm: bool = setting(False, "spectral normalization of every linear layer")
    lr: float = setting(3e-4, "Adam learning rate")
    disc_update_num: int = setting(
        4, "discriminator steps per policy update, each on a slice of the rollout"
    )
    grad_penalty: float = setting(
        10.0,
        "weight of the (|grad d| - target)^2 penalty at expert/policy interpolates; 0 = off",
        tianshou=0.0,
    )
    grad_penalty_target: float = setting(
        1.0, "the slope the penalty pulls toward: 1 (WGAN-GP) or 0 (zero-centred)"
    )
    reward_form: str = setting(
        "gail",
        "the policy's reward from d: gail -log(1 - sigmoid(d)), airl d, log_d log sigmoid(d)",
    )
    expert_action_noise: bool = setting(
        True,
        "add noise of the policy's action std to the expert actions the discriminator sees",
        tianshou=False,
    )
    lr_decay: bool = setting(False, "decay lr linearly to 0 over trainer.total_env_steps")
    absorbing: bool = setting(
        False, "absorbing states at true terminations (Kostrikov et al. 2019)"
    )

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

    total_env_steps: int = setting(1_000_000, "training budget, in env steps")
    num_envs: int = setting(8, "parallel envs")
    steps_per_collect: int = setting(
        2048, "env steps per rollout, all envs together (a multiple of num_envs)"
    )
    eval_episodes: int = setting(10, "deterministic evaluation episodes on the true reward")
    eval_every: int = setting(50_000, "env steps between evaluations (and last.pt saves)")
    obs_normalization: str = setting(
        "running",
        "observation transform of actor, critic and discriminator: running, expert or off",
    )
    vector_mode: str = setting(
        "sync", "sync: envs stepped in this process; async: one subprocess per env"
    )
    eval_in_background: bool = setting(
        True, "play evaluation episodes in a worker process while training goes on"
    )
    bc_init_steps: int = setting(
        0, "behavioral-cloning steps fitting the actor to the expert before the first rollout"
    )
    critic_warmup_steps: int = setting(
        0, "env steps at the start whose PPO updates train the critic alone; 0 = off"
    )
    bc_loss_coef: float = setting(
        0.0, "start weight of a behavioral-cloning term during GAIL, decaying to 0; 0 = off"
    )
    bc_loss_decay: float = setting(
        0.5, "fraction of the budget after which the cloning term's weight is 0"
    )

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
