"""Vector environments: the autoreset mode that the rollout layout depends on."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from gymnasium.vector import AutoresetMode

import gail_cli.run.envs
from gail_cli.algo.nets import GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.run.envs import Collector, env_spec, make_vector_env

MAKE_VEC = gym.make_vec


def _next_step_vector_env(env_id: str, num_envs: int) -> gym.vector.VectorEnv:
    return MAKE_VEC(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.NEXT_STEP},
    )


def test_the_built_vector_env_resets_in_the_same_step() -> None:
    envs = make_vector_env("Pendulum-v1", 2)
    try:
        assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    finally:
        envs.close()


def test_a_vector_env_of_another_autoreset_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If gymnasium's make_vec ignored or changed the mode, building the env must fail."""
    monkeypatch.setattr(
        gail_cli.run.envs.gym,
        "make_vec",
        lambda env_id, num_envs, **_: _next_step_vector_env(env_id, num_envs),
    )
    with pytest.raises(ValueError, match="SAME_STEP"):
        make_vector_env("Pendulum-v1", 2)


def test_the_collector_refuses_a_next_step_vector_env() -> None:
    envs = _next_step_vector_env("Pendulum-v1", 2)
    spec = env_spec(envs, "Pendulum-v1")
    actor = GaussianActor(spec.obs_dim, spec.act_dim, [8])
    normalizer = ObservationNormalizer(spec.obs_dim, "off")
    try:
        with pytest.raises(ValueError, match="SAME_STEP"):
            Collector(envs, spec, actor, normalizer, torch.device("cpu"), seed=0)
    finally:
        envs.close()
