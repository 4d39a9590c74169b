"""Running statistics: observation normalization and return scaling (PPO's value targets).

Both are plain float64 numpy accumulators (Chan et al.'s parallel mean/variance update),
so their state is exactly reproducible and cheap to checkpoint.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gail_cli.settings import OBS_NORMALIZATION_MODES


class RunningMeanStd:
    """Running mean and (population) variance of a stream of vectors of shape ``shape``."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0.0

    def update(self, batch: np.ndarray) -> None:
        """Fold in a batch of shape (B, *shape)."""
        batch = np.asarray(batch, dtype=np.float64).reshape(-1, *self.mean.shape)
        n = batch.shape[0]
        if n == 0:
            return
        b_mean = np.asarray(batch.mean(axis=0))
        b_var = np.asarray(batch.var(axis=0))
        if self.count == 0:
            self.mean, self.var, self.count = b_mean, b_var, float(n)
            return
        total = self.count + n
        delta = b_mean - self.mean
        self.mean = self.mean + delta * n / total
        m2 = self.var * self.count + b_var * n + delta**2 * self.count * n / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {
            "mean": torch.tensor(self.mean, dtype=torch.float64),
            "var": torch.tensor(self.var, dtype=torch.float64),
            "count": torch.tensor(self.count, dtype=torch.float64),
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.mean = state["mean"].numpy().astype(np.float64).reshape(self.mean.shape)
        self.var = state["var"].numpy().astype(np.float64).reshape(self.var.shape)
        self.count = float(state["count"])


class ObservationNormalizer:
    """The one observation transform shared by actor, critic and discriminator.

    ``normalize(obs) = clip((obs - mean) / sqrt(var + eps), -clip, clip)``, applied
    identically to expert and policy samples. Modes:

    - ``running``: statistics of the policy's own observations, folded in once per
      rollout through :meth:`update`, so every network sees one frozen transform for the
      whole of an update;
    - ``expert``: statistics of the expert's observations, fitted once (:meth:`fit`) and
      fixed for the whole run: a stationary input for every network;
    - ``off``: the identity.
    """

    def __init__(self, obs_dim: int, mode: str = "running", clip: float = 10.0) -> None:
        if mode not in OBS_NORMALIZATION_MODES:
            raise ValueError(f"mode must be one of {OBS_NORMALIZATION_MODES}, got {mode!r}")
        self.mode = mode
        self.enabled = mode != "off"
        self.clip = clip
        self.eps = 1e-8
        self.rms = RunningMeanStd((obs_dim,))
        self._refresh()

    def fit(self, raw_obs: np.ndarray) -> None:
        """Set the statistics from observations (B, obs_dim) once (``expert`` mode)."""
        self.rms = RunningMeanStd(self.rms.mean.shape)
        self.rms.update(raw_obs)
        self._refresh()

    def _refresh(self) -> None:
        self._mean = torch.as_tensor(self.rms.mean, dtype=torch.float32)
        self._inv_std = torch.as_tensor(1.0 / np.sqrt(self.rms.var + self.eps), dtype=torch.float32)

    def frozen_statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Copies of the transform's (mean, 1 / std), each (obs_dim,) float32 on the CPU."""
        return self._mean.clone(), self._inv_std.clone()

    def update(self, raw_obs: np.ndarray) -> None:
        """Fold raw observations (B, obs_dim) into the statistics (``running`` mode only)."""
        if self.mode == "running":
            self.rms.update(raw_obs)
            self._refresh()

    def __call__(self, raw_obs: torch.Tensor) -> torch.Tensor:
        """Normalize a float32 tensor of shape (..., obs_dim); same shape out."""
        if not self.enabled:
            return raw_obs
        mean, inv_std = self._mean.to(raw_obs.device), self._inv_std.to(raw_obs.device)
        return ((raw_obs - mean) * inv_std).clamp_(-self.clip, self.clip)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.rms.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.rms.load_state_dict(state)
        self._refresh()


def discounted_reward_sums(
    rewards: np.ndarray, done: np.ndarray, carry: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """G_t = r_t + gamma * G_{t-1}, restarted after each episode's end, per env.

    rewards, done: (T, N); carry: (N,), each env's sum at the end of the previous rollout.
    Returns the sums (T, N) and the carry for the next rollout. A statistic of the rewards
    alone: it does not read the critic.
    """
    sums = np.empty_like(rewards)
    running = carry
    for t in range(rewards.shape[0]):
        running = rewards[t] + gamma * running
        sums[t] = running
        running = np.where(done[t], 0.0, running)
    return sums, running


class ReturnScaler:
    """PPO's return_scaling: the critic predicts returns divided by a running std.

    The std is that of each env's discounted reward sums (:func:`discounted_reward_sums`,
    carried across rollouts), not centred: a statistic of the rewards alone. (Tianshou 2
    folds in the GAE returns instead; they bootstrap from the scaled critic, so a critic
    whose error exceeds one std makes the std grow by that factor every rollout: a
    HalfCheetah run's actor loss reached -1e13 at 100k env steps, and its actor froze.)
    Disabled, the scale is 1 and nothing is accumulated.
    """

    def __init__(self, gamma: float, enabled: bool) -> None:
        self.gamma, self.enabled = gamma, enabled
        self.rms = RunningMeanStd()
        # each env's discounted reward sum so far (N,), or None before the first rollout
        self.reward_sums: np.ndarray | None = None

    @property
    def std(self) -> float:
        """The scale of the critic's units, in reward units (1 when disabled)."""
        return math.sqrt(self.rms.var + 1e-8) if self.enabled else 1.0

    def fold_in(self, rewards: torch.Tensor, done: torch.Tensor) -> None:
        """Fold one rollout's (T, N) discounted reward sums into the statistic."""
        if not self.enabled:
            return
        rewards_np = rewards.cpu().numpy().astype(np.float64)
        carry = self.reward_sums
        if carry is None or carry.shape != rewards_np.shape[1:]:
            carry = np.zeros(rewards_np.shape[1], dtype=np.float64)
        sums, self.reward_sums = discounted_reward_sums(
            rewards_np, done.cpu().numpy(), carry, self.gamma
        )
        self.rms.update(sums.reshape(-1))

    def state_dict(self) -> dict[str, object]:
        sums = self.reward_sums if self.reward_sums is not None else np.zeros(0)
        return {"return_rms": self.rms.state_dict(), "reward_sums": torch.from_numpy(sums)}

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore a state (``reward_sums`` is absent in checkpoints before it existed)."""
        self.rms.load_state_dict(state["return_rms"])  # type: ignore[arg-type]
        sums = state.get("reward_sums")
        if isinstance(sums, torch.Tensor) and sums.numel() > 0:
            self.reward_sums = sums.numpy().copy()
        else:
            self.reward_sums = None
