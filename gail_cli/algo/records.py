"""Records passed between modules: plain data, no behaviour.

Shapes: T = steps per env in a rollout, N = number of envs, B = rows of a minibatch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch


@dataclass
class Rollout:
    """One rollout of raw environment data; time-major tensors on the learner's device.

    obs:        (T, N, obs_dim) raw observation s_t the action was taken in.
    next_obs:   (T, N, obs_dim) raw s_{t+1}; at an episode's end, its true final observation.
    actions:    (T, N, act_dim) policy samples: unbounded (Gaussian; the env got them
                clipped) or one-hot (categorical; the env got the index).
    terminated: (T, N) bool, the episode ended by termination at this step (no bootstrap).
    truncated:  (T, N) bool, the episode was cut by a time limit (bootstrap from V(next_obs)).
    env_rewards: (T, N) the environment's reward: reported, used for learning only by the
                 expert trainer.
    """

    obs: torch.Tensor
    next_obs: torch.Tensor
    actions: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    env_rewards: torch.Tensor

    @property
    def num_steps(self) -> int:
        return self.obs.shape[0] * self.obs.shape[1]


class Minibatch(NamedTuple):
    """One PPO minibatch: obs (B, obs_dim) normalized, actions (B, act_dim) as sampled,
    the rest (B,); value figures in the critic's units."""

    obs: torch.Tensor
    actions: torch.Tensor
    old_log_probs: torch.Tensor
    advantages: torch.Tensor
    targets: torch.Tensor
    old_values: torch.Tensor
