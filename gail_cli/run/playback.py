"""What gail-eval and gail-collect share: set-up and rolling a saved policy out."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from gail_cli.run.build import LoadedPolicy, pick_device, seed_everything, set_threads
from gail_cli.run.envs import EnvSpec, Episodes, env_spec, make_vector_env, play_episodes


def setup(cfg: DictConfig) -> torch.device:
    """Seed, device and threads for the commands that only roll a policy out."""
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    set_threads(cfg.threads, device)
    return device


def roll_out(
    policy: LoadedPolicy, episodes: int, device: torch.device, cfg: DictConfig, record: bool = False
) -> tuple[EnvSpec, Episodes]:
    """One episode per env of a vector of ``episodes`` envs, as cfg.deterministic says."""
    envs = make_vector_env(policy.env, episodes)
    try:
        spec = env_spec(envs, policy.env_id)
        result = play_episodes(
            envs, policy.actor, policy.normalizer, spec, device, cfg.seed, cfg.deterministic, record
        )
    finally:
        envs.close()
    return spec, result
