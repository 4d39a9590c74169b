"""Builders: a composed Hydra config in, typed settings and ready objects out.

This is the one place that reads the config tree; everything past it takes plain
dataclasses and tensors. Bad values become one-line :class:`GailError`s here, before any
environment is made or file written.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from gail_cli.algo.agent import Agent
from gail_cli.algo.bc import CloneLoss
from gail_cli.algo.gail import GAIL
from gail_cli.algo.nets import Actor, CategoricalActor, Critic, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO, PPOLearner
from gail_cli.algo.sac import SACConfig, SquashedGaussianActor
from gail_cli.data.experts import ExpertData, load_expert_data
from gail_cli.data.minari_store import resolve_minari_id
from gail_cli.errors import GailError, positive_int
from gail_cli.run.adversary import ExpertTensors, build_discriminator, fit_normalizer
from gail_cli.run.device import choose_device, loop_shape
from gail_cli.run.env_recipe import EnvRecipe, recipe_from_mapping
from gail_cli.run.envs import EnvSpec, env_spec, make_vector_env
from gail_cli.run.evaluation import (
    EVAL_SEED_OFFSET,
    BackgroundEvaluator,
    Evaluator,
    InlineEvaluator,
)
from gail_cli.run.offpolicy import OffPolicyTrainer, build_offpolicy_agent
from gail_cli.run.trainer import Progress, Trainer
from gail_cli.settings import (
    DiscriminatorConfig,
    NetConfig,
    PolicyConfig,
    PPOConfig,
    TrainerConfig,
)

T = TypeVar("T")


def typed(cls: type[T], node: Any, group: str) -> T:
    """Build dataclass ``cls`` from config ``node``, checking each value's type.

    Keys of the node that ``cls`` does not declare are ignored (they belong to other
    readers); a value of the wrong type raises GailError naming ``group.key``.
    """
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in node:
            key = f"{group}.{field.name}"
            kwargs[field.name] = _coerce(node[field.name], hints[field.name], key)
    try:
        return cls(**kwargs)
    except GailError as exc:
        raise GailError(str(exc).replace("net.", f"{group}.")) from None


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check value against a simple type hint (int, float, bool, str, list[int], X | None)."""
    if isinstance(value, ListConfig):
        value = OmegaConf.to_container(value)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, list):
            return [_coerce(v, item, key) for v in value]
        expected = f"a list like [64, 64] of {item.__name__}"
    elif hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif (hint is int and isinstance(value, int) and not isinstance(value, bool)) or (
        hint in (bool, str) and isinstance(value, hint)
    ):
        return value
    else:
        expected = {float: "a number", int: "an integer", bool: "true or false"}.get(
            hint, getattr(hint, "__name__", str(hint))
        )
    raise GailError(
        f"{key}={value!r} has the wrong type: expected {expected}; fix it with {key}=<{expected}>"
    )


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cpu' / 'cuda' / 'cuda:N' as given.

    (gail-eval and gail-collect; gail-train's 'auto' times both devices, see
    :mod:`gail_cli.run.device`.)
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GailError(f"device={name!r} is unknown; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GailError("device=cuda but no CUDA device is available; use device=auto or cpu")
    return device


def set_threads(setting: Any, device: torch.device) -> int:
    """Apply the torch thread count; 'auto' is 1 (tiny networks, env stepping beside)."""
    threads = 1 if setting == "auto" else positive_int(setting, "threads", alternative=", or auto")
    torch.set_num_threads(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    return threads


def seed_everything(seed: Any) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise GailError(f"seed={seed!r} must be a non-negative integer")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return seed


def load_expert(cfg: DictConfig, spec: EnvSpec) -> ExpertData:
    """The expert file of dataset.path (or dataset.minari_id), validated against the env.

    dataset.num_trajectories keeps the first episodes, dataset.subsample then every N-th
    pair of each from an offset drawn from the run's seed.
    """
    counts = {key: cfg.dataset.get(key) for key in ("num_trajectories", "subsample")}
    path = expert_file(cfg.dataset)
    return load_expert_data(
        path,
        obs_dim=spec.obs_dim,
        act_dim=spec.act_dim,
        num_trajectories=counts["num_trajectories"],
        env_id=spec.env_id,
        subsample=counts["subsample"],
        seed=cfg.seed,
        discrete=spec.discrete,
    )


def expert_file(dataset: DictConfig) -> str:
    """The expert file: dataset.minari_id's file in Minari's store, else dataset.path.

    With a Minari id, dataset.path is set to the file read, so the run's saved config
    (used by resume and gail-eval) names it; an explicit dataset.path naming another
    file is refused.
    """
    minari_id = dataset.get("minari_id")
    if minari_id is None:
        path = dataset.path
        if not isinstance(path, str) or not path:
            raise GailError("dataset.path is not set; pass dataset.path=<expert .hdf5 file>")
        return path
    if not isinstance(minari_id, str) or not minari_id:
        raise GailError(f"dataset.minari_id={minari_id!r} must be a Minari dataset id or null")
    path = str(resolve_minari_id(minari_id))
    explicit = not OmegaConf.is_interpolation(dataset, "path") and dataset.get("path")
    if explicit and Path(explicit).resolve() != Path(path).resolve():
        raise GailError(
            f"dataset.path={explicit} and dataset.minari_id={minari_id} both name the "
            "expert data; pass only one of them"
        )
    dataset.path = path
    return path


@dataclass
class Settings:
    """Every setting of a training, type- and range-checked, before anything is built."""

    ppo: PPOConfig
    trainer: TrainerConfig
    policy: PolicyConfig
    critic: NetConfig
    discriminator: DiscriminatorConfig | None
    # the off-policy learner's settings (algorithm=dac / sac); None for PPO
    algorithm: SACConfig | None = None


def read_algorithm(cfg: DictConfig, imitation: bool) -> SACConfig | None:
    """The algorithm group: None for ppo (also when a saved config predates the group),
    the off-policy settings for dac and sac. gail-train refuses sac (it is SAC on the
    env's reward); gail-expert runs dac as sac (there is no expert to imitate)."""
    node = cfg.get("algorithm")
    name = node.get("name", "ppo") if node is not None else "ppo"
    if name == "ppo":
        return None
    if imitation and name == "sac":
        raise GailError(
            "algorithm=sac learns from the environment's reward (use it with gail-expert); "
            "gail-train's off-policy option is algorithm=dac"
        )
    return typed(SACConfig, node, "algorithm")


def read_settings(cfg: DictConfig, imitation: bool) -> Settings:
    """Check the config tree; raises GailError naming the first bad key."""
    ppo = typed(PPOConfig, cfg.ppo, "ppo")
    trainer = typed(TrainerConfig, cfg.trainer, "trainer")
    if ppo.batch_size > trainer.steps_per_collect:
        raise GailError(
            f"ppo.batch_size={ppo.batch_size} is larger than "
            f"trainer.steps_per_collect={trainer.steps_per_collect}; lower it"
        )
    disc = cfg.get("discriminator") if imitation else None
    return Settings(
        ppo=ppo,
        trainer=trainer,
        policy=typed(PolicyConfig, cfg.policy, "policy"),
        critic=typed(NetConfig, cfg.critic, "critic"),
        discriminator=typed(DiscriminatorConfig, disc, "discriminator") if disc else None,
        algorithm=read_algorithm(cfg, imitation),
    )


def build_actor(settings: Settings, obs_dim: int, act_dim: int, discrete: bool) -> Actor:
    """PPO's policy: a categorical head over act_dim actions (discrete), else a Gaussian."""
    net = settings.policy
    if discrete:
        return CategoricalActor(obs_dim, act_dim, net.hidden_sizes, net.activation)
    return GaussianActor(obs_dim, act_dim, net.hidden_sizes, net.activation, net.log_std_init)


def build_agent(
    settings: Settings,
    spec: EnvSpec,
    device: torch.device,
    expert: ExpertData | None,
) -> Agent:
    """Networks, transform and learner; GAIL when expert data is given, else plain PPO."""
    actor = build_actor(settings, spec.obs_dim, spec.act_dim, spec.discrete).to(device)
    net = settings.critic
    critic = Critic(spec.obs_dim, net.hidden_sizes, net.activation).to(device)
    normalizer = ObservationNormalizer(spec.obs_dim, settings.trainer.obs_normalization)
    ppo = PPO(actor, critic, settings.ppo, device)
    fit_normalizer(normalizer, expert)
    if expert is None:
        return Agent(actor, critic, normalizer, ppo, PPOLearner(ppo, normalizer))
    disc_config = settings.discriminator
    assert disc_config is not None
    if spec.discrete:  # one-hot actions: no Gaussian exploration noise to imitate
        disc_config = dataclasses.replace(disc_config, expert_action_noise=False)
    disc = build_discriminator(spec.obs_dim, spec.act_dim, disc_config, device)
    demos = ExpertTensors.of(expert, device)
    learner = GAIL(
        ppo,
        disc,
        disc_config,
        normalizer,
        expert_obs=demos.observations,
        expert_actions=demos.actions,
        action_low=torch.from_numpy(spec.action_low).to(device),
        action_high=torch.from_numpy(spec.action_high).to(device),
        expert_absorbing=demos.absorbing,
        absorbing_weight=demos.absorbing_weight,
        clone=_clone_loss(settings.trainer, actor, normalizer, expert, device),
    )
    return Agent(actor, critic, normalizer, ppo, learner, disc)


def _clone_loss(
    trainer: TrainerConfig,
    actor: Actor,
    normalizer: ObservationNormalizer,
    expert: ExpertData,
    device: torch.device,
) -> CloneLoss | None:
    """The decaying behavioral-cloning term of trainer.bc_loss_coef, None when 0."""
    if trainer.bc_loss_coef == 0:
        return None
    return CloneLoss(
        actor,
        normalizer,
        torch.from_numpy(expert.observations).to(device),
        torch.from_numpy(expert.actions).to(device),
        trainer.bc_loss_coef,
        trainer.bc_loss_decay,
    )


def random_return(cfg: DictConfig) -> float | None:
    """env.random_return: the env's mean return under uniformly random actions, which
    normalized returns start from where set (null: normalize by the expert alone)."""
    value = OmegaConf.select(cfg, "env.random_return")
    return None if value is None else _coerce(value, float, "env.random_return")


def data_dir() -> str:
    """Folder of shipped expert files: $GAIL_DATA_DIR, else the installed package's.

    That is the package gail_cli.shipped_data: the repository's data/ in an editable
    install, site-packages/gail_cli/shipped_data in a wheel install.
    """
    return os.environ.get("GAIL_DATA_DIR") or str(resources.files("gail_cli.shipped_data"))


@dataclass
class LoadedPolicy:
    """A trained policy rebuilt from a checkpoint: what gail-eval and gail-collect run."""

    actor: Actor | SquashedGaussianActor
    normalizer: ObservationNormalizer
    config: DictConfig
    env_id: str
    # how to make its env (id, gym.make kwargs, wrappers), from the saved config
    env: EnvRecipe
    env_steps: int
    obs_dim: int
    act_dim: int
    discrete: bool


def load_policy(checkpoint: dict[str, Any], device: torch.device) -> LoadedPolicy:
    """Rebuild the actor and observation transform saved in a checkpoint payload."""
    cfg = OmegaConf.create(checkpoint["config"])
    settings = read_settings(cfg, imitation=False)
    discrete = bool(checkpoint.get("discrete", False))  # absent: saved before discrete actions
    obs_dim, act_dim = checkpoint["obs_dim"], checkpoint["act_dim"]
    actor: Actor | SquashedGaussianActor
    if settings.algorithm is not None:  # the off-policy actor; its bounds are in its state
        net = settings.policy
        actor = SquashedGaussianActor(obs_dim, act_dim, net.hidden_sizes, net.activation)
    else:
        actor = build_actor(settings, obs_dim, act_dim, discrete)
    actor.to(device)
    actor.load_state_dict(checkpoint["agent"]["actor"])
    actor.eval()
    normalizer = ObservationNormalizer(checkpoint["obs_dim"], settings.trainer.obs_normalization)
    normalizer.load_state_dict(checkpoint["agent"]["normalizer"])
    return LoadedPolicy(
        actor,
        normalizer,
        cfg,
        checkpoint["env_id"],
        recipe_from_mapping(cfg.env),
        checkpoint["env_steps"],
        checkpoint["obs_dim"],
        checkpoint["act_dim"],
        discrete,
    )


def build_trainer(
    cfg: DictConfig,
    run_dir: Path,
    imitation: bool,
    checkpoint: dict[str, Any] | None = None,
) -> tuple[Trainer, ExpertData | None]:
    """Everything one training needs, validated, restored from ``checkpoint`` if given.

    Order matters for bad input: settings and the expert file are checked before any
    file of the run is written.
    """
    settings = read_settings(cfg, imitation)
    seed = seed_everything(cfg.seed)
    # device=auto is decided once the env's dimensions are known (gail_cli.run.device)
    explicit = None if cfg.device == "auto" else pick_device(cfg.device)
    set_threads(cfg.threads, explicit or torch.device("cpu"))
    trainer_config = settings.trainer
    recipe = recipe_from_mapping(cfg.env)
    envs = make_vector_env(recipe, trainer_config.num_envs, trainer_config.vector_mode)
    spec = env_spec(envs, recipe.id)
    device, device_note = explicit, f"device={cfg.device}"
    if device is None:
        shape = loop_shape(
            spec.obs_dim,
            spec.act_dim,
            settings.policy,
            settings.critic,
            trainer_config,
            settings.ppo,
        )
        device, device_note = choose_device(shape)
    expert = load_expert(cfg, spec) if imitation else None
    if settings.algorithm is None:
        agent: Any = build_agent(settings, spec, device, expert)
        make_trainer: Callable[..., Trainer] = Trainer
    else:
        agent = build_offpolicy_agent(
            settings.algorithm,
            settings.policy,
            settings.critic,
            settings.discriminator,
            trainer_config.obs_normalization,
            spec,
            device,
            expert,
        )
        make_trainer = functools.partial(OffPolicyTrainer, algorithm=settings.algorithm)
    progress = Progress()
    if checkpoint is not None:
        agent.load_state_dict(checkpoint["agent"])
        progress = Progress(
            checkpoint["env_steps"], checkpoint["best_eval_return"], checkpoint["last_eval"]
        )
        torch.set_rng_state(checkpoint["torch_rng"])
    eval_seed = seed + EVAL_SEED_OFFSET
    evaluator: Evaluator
    if trainer_config.eval_in_background:
        evaluator = BackgroundEvaluator(recipe, trainer_config.eval_episodes, eval_seed)
    else:
        eval_envs = make_vector_env(recipe, trainer_config.eval_episodes, "sync")
        evaluator = InlineEvaluator(eval_envs, spec, device, eval_seed)
    trainer = make_trainer(
        agent=agent,
        config=trainer_config,
        spec=spec,
        envs=envs,
        evaluator=evaluator,
        run_dir=run_dir,
        seed=seed,
        device=device,
        expert_return=expert.mean_return if expert is not None else None,
        random_return=random_return(cfg),
        checkpoint_meta={
            "env_id": spec.env_id,
            "obs_dim": spec.obs_dim,
            "act_dim": spec.act_dim,
            "discrete": spec.discrete,
            "mode": "gail" if imitation else "expert",
            "config": OmegaConf.to_yaml(cfg, resolve=True),
            "run_dir": str(run_dir.resolve()),
        },
        progress=progress,
    )
    trainer.device_note = device_note
    if checkpoint is not None:
        trainer.resumed_exactly = trainer.restore(checkpoint)
    return trainer, expert
