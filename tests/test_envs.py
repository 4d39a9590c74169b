"""Vector environments: the autoreset mode that the rollout layout depends on, and the
rollouts the collector records from them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
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


class StepCounter(gym.Env[np.ndarray, np.ndarray]):
    """Observation [steps taken in this episode, env index]; reward 1; never terminates."""

    def __init__(self, index: int) -> None:
        self.index, self.steps = index, 0
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.array([self.steps, self.index], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.steps = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.steps += 1
        return self._obs(), 1.0, False, False, {}


def test_a_truncated_episode_keeps_its_true_final_observation_in_next_obs() -> None:
    """Time limits of 3 and 4 steps: at each truncation next_obs holds the episode's last
    observation (the value bootstrap reads it), while the next row starts a new episode."""
    limits = (3, 4)
    envs = gym.vector.SyncVectorEnv(
        [lambda i=i: gym.wrappers.TimeLimit(StepCounter(i), limits[i]) for i in range(2)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    spec = env_spec(envs, "StepCounter")
    actor = GaussianActor(spec.obs_dim, spec.act_dim, [4])
    normalizer = ObservationNormalizer(spec.obs_dim, "off")
    try:
        collector = Collector(envs, spec, actor, normalizer, torch.device("cpu"), seed=0)
        rollout = collector.collect(10)
    finally:
        envs.close()
    obs, next_obs = rollout.obs.numpy(), rollout.next_obs.numpy()
    for i, limit in enumerate(limits):
        steps_in = obs[:, i, 0]
        assert steps_in.tolist() == [t % limit for t in range(10)]
        ends = [t for t in range(10) if t % limit == limit - 1]
        assert np.flatnonzero(rollout.truncated[:, i].numpy()).tolist() == ends
        assert not rollout.terminated[:, i].any()
        # every row's successor is one step further, the final one of an episode included
        assert next_obs[:, i, 0].tolist() == (steps_in + 1).tolist()
        assert (next_obs[:, i, 1] == i).all()
        for t in ends:
            if t + 1 < 10:
                assert obs[t + 1, i, 0] == 0  # the reset observation, not the final one
    assert sorted(collector.drain_episodes()[1]) == [3, 3, 3, 4, 4]
