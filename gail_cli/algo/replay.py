"""A ring buffer of the policy's transitions, for the off-policy learner.

Rows are single env steps: raw observations (the transform is applied when a batch is
used, so running statistics never go stale in the buffer), actions as the env received
them (bounded), the environment's reward (used only by the expert learner), the raw next
observation (an episode's true final observation at its end) and whether the step
terminated the episode. A time-limit truncation is not a termination: its next
observation is bootstrapped like any other.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

# rows allocated at first; the storage doubles from there as the buffer fills
INITIAL_ROWS = 65_536


class Transitions(NamedTuple):
    """A batch of B transitions: obs, next_obs (B, obs_dim) raw; actions (B, act_dim)
    bounded; env_rewards (B,); terminated (B,) bool."""

    obs: torch.Tensor
    actions: torch.Tensor
    env_rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor


class ReplayBuffer:
    """Holds the newest ``capacity`` transitions; once full, each new row overwrites the
    oldest. Sampling is uniform with replacement, from torch's global generator."""

    def __init__(
        self, capacity: int, obs_dim: int, act_dim: int, device: torch.device | None = None
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        # storage grows (doubling) up to capacity as rows arrive: memory follows use
        allocated = min(capacity, INITIAL_ROWS)
        self.obs = torch.zeros(allocated, obs_dim, device=device)
        self.actions = torch.zeros(allocated, act_dim, device=device)
        self.env_rewards = torch.zeros(allocated, device=device)
        self.next_obs = torch.zeros(allocated, obs_dim, device=device)
        self.terminated = torch.zeros(allocated, dtype=torch.bool, device=device)
        self.position = 0  # the row the next transition goes to
        self.size = 0  # rows filled
        self.terminations = 0  # terminated rows among the filled ones

    def __len__(self) -> int:
        return self.size

    def _columns(self) -> tuple[torch.Tensor, ...]:
        return (self.obs, self.actions, self.env_rewards, self.next_obs, self.terminated)

    def _reserve(self, rows: int) -> None:
        """Grow the storage to hold ``rows`` rows (at most capacity), keeping its content."""
        allocated = self.obs.shape[0]
        if rows <= allocated:
            return
        grown = min(self.capacity, max(rows, 2 * allocated))
        names = ("obs", "actions", "env_rewards", "next_obs", "terminated")
        for name, column in zip(names, self._columns(), strict=True):
            bigger = column.new_zeros((grown, *column.shape[1:]))
            bigger[:allocated] = column
            setattr(self, name, bigger)

    def add(self, batch: Transitions) -> None:
        """Append the B rows of ``batch`` (B may exceed what is left before wrapping)."""
        rows = batch.obs.shape[0]
        if rows > self.capacity:  # only the newest capacity rows would survive
            batch = Transitions(*(column[-self.capacity :] for column in batch))
            rows = self.capacity
        self._reserve(self.size + rows)
        index = (self.position + torch.arange(rows)) % self.capacity
        # filled slots are [0, size) before the add: those in index are overwritten
        overwritten = index[index < self.size]
        self.terminations -= int(self.terminated[overwritten.to(self.terminated.device)].sum())
        for column, values in zip(self._columns(), batch, strict=True):
            column[index.to(column.device)] = values.to(column.device, column.dtype)
        self.terminations += int(batch.terminated.sum())
        self.position = (self.position + rows) % self.capacity
        self.size = min(self.size + rows, self.capacity)

    def sample(self, batch_size: int) -> Transitions:
        """``batch_size`` rows drawn uniformly with replacement from the filled ones."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = torch.randint(0, self.size, (batch_size,), device=self.obs.device)
        return Transitions(*(column[index] for column in self._columns()))

    def absorbing_fraction(self) -> float:
        """Share of absorbing samples if each terminated row led to one: T / (size + T)."""
        return self.terminations / (self.size + self.terminations) if self.size else 0.0

    def state_dict(self) -> dict[str, object]:
        """The filled rows, in their slots, and the write position."""
        return {
            "capacity": self.capacity,
            "position": self.position,
            "size": self.size,
            "columns": [column[: self.size].clone() for column in self._columns()],
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        if state["capacity"] != self.capacity:
            raise ValueError(
                f"the saved buffer holds {state['capacity']} rows, this one {self.capacity}"
            )
        size = int(state["size"])  # type: ignore[call-overload]
        self._reserve(size)
        for column, saved in zip(self._columns(), state["columns"], strict=True):  # type: ignore[call-overload]
            column[:size] = saved.to(column.device)
        self.size, self.position = size, int(state["position"])  # type: ignore[call-overload]
        self.terminations = int(self.terminated[:size].sum())
