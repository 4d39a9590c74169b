"""Behavioral cloning: fit the actor to the expert's actions before GAIL starts.

A warm start, not a learner: it spends no env steps. A Gaussian actor's mean is fitted
by mean squared error and its log std left as configured, so PPO explores around the
cloned mean from the first rollout on; a categorical actor's logits by cross-entropy.
"""

from __future__ import annotations

import numpy as np
import torch

from gail_cli.algo.agent import Agent
from gail_cli.algo.nets import Actor
from gail_cli.algo.normalization import ObservationNormalizer

BC_BATCH_SIZE = 256
BC_LR = 1e-3


def behavior_clone(
    actor: Actor,
    normalizer: ObservationNormalizer,
    expert_obs: torch.Tensor,
    expert_actions: torch.Tensor,
    steps: int,
) -> tuple[float, float]:
    """Fit the actor to expert actions by its ``clone_loss``, in place.

    expert_obs: (N, obs_dim) raw observations; expert_actions: (N, act_dim) as the env
    received them (one-hot rows for discrete actions). Runs ``steps`` Adam steps on
    minibatches of ``BC_BATCH_SIZE`` drawn with torch's global generator (seeded by the
    run's seed). Returns the loss (mean squared error per action dimension, or
    cross-entropy in nats) on the whole expert set before and after, for the log.
    """
    obs = normalizer(expert_obs)
    optimizer = torch.optim.Adam(actor.clone_net().parameters(), lr=BC_LR)

    def full_loss() -> float:
        with torch.no_grad():
            return float(actor.clone_loss(obs, expert_actions))

    before = full_loss()
    fit_minibatches(actor, optimizer, obs, expert_actions, steps)
    return before, full_loss()


def fit_minibatches(
    actor: Actor,
    optimizer: torch.optim.Optimizer,
    obs: torch.Tensor,
    actions: torch.Tensor,
    steps: int,
) -> torch.Tensor:
    """``steps`` optimizer steps of ``actor.clone_loss`` on random minibatches of
    BC_BATCH_SIZE rows of obs (N, obs_dim, normalized) and actions (N, act_dim); returns
    the last minibatch's loss (0-d, detached; 0 when steps is 0)."""
    loss = torch.zeros(())
    for _ in range(steps):
        idx = torch.randint(len(obs), (BC_BATCH_SIZE,), device=obs.device)
        loss = actor.clone_loss(obs[idx], actions[idx])
        # in place: the .grad tensors are views of PPO's flat gradient (ppo.flatten_parameters)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return loss.detach()


class CloneLoss:
    """A behavioral-cloning term that decays: it keeps the actor near the expert's actions
    early in GAIL and lets go as the discriminator's reward takes over.

    After each PPO update, ``steps`` Adam steps of the actor's ``clone_loss`` (mean squared
    error of a Gaussian's mean, cross-entropy of a categorical's logits) on expert
    observations normalized by the shared transform, minibatches of BC_BATCH_SIZE, at
    learning rate BC_LR * weight. The weight is ``coef`` at the start and falls linearly
    to 0 once ``decay`` of the budget (a fraction in (0, 1]) is spent:
    weight = coef * max(0, 1 - spent / decay).
    expert_obs: (M, obs_dim) raw; expert_actions: (M, act_dim) as the env received them.
    """

    def __init__(
        self,
        actor: Actor,
        normalizer: ObservationNormalizer,
        expert_obs: torch.Tensor,
        expert_actions: torch.Tensor,
        coef: float,
        decay: float,
        steps: int = 32,
    ) -> None:
        self.actor, self.normalizer = actor, normalizer
        self.expert_obs, self.expert_actions = expert_obs, expert_actions
        self.coef, self.decay, self.steps = coef, decay, steps
        self.weight = coef
        self.optimizer = torch.optim.Adam(actor.clone_net().parameters(), lr=BC_LR * coef)

    def set_fraction(self, remaining: float) -> None:
        """``remaining``: the fraction of the budget still to go (1 at the start)."""
        self.weight = self.coef * max(0.0, 1.0 - (1.0 - remaining) / self.decay)
        for group in self.optimizer.param_groups:
            group["lr"] = BC_LR * self.weight

    def step(self) -> float:
        """Run the steps at the current weight; returns the last minibatch's clone loss (0
        when the weight is 0 and nothing ran)."""
        if self.weight <= 0:
            return 0.0
        obs = self.normalizer(self.expert_obs)
        loss = fit_minibatches(self.actor, self.optimizer, obs, self.expert_actions, self.steps)
        return float(loss)

    def state_dict(self) -> dict[str, object]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])  # type: ignore[arg-type]


def warm_start(agent: Agent, observations: np.ndarray, actions: np.ndarray, steps: int) -> str:
    """Clone the expert pairs into ``agent``'s actor before the first rollout; returns a log line.

    ``observations`` (N, obs_dim) raw float32, ``actions`` (N, act_dim) as the env takes them
    (one-hot for discrete actions).

    With running observation statistics, the expert's observations are folded in first,
    so the transform the clone is fitted through does not jump at the first rollout.
    """
    normalizer = agent.normalizer
    if normalizer.mode == "running":
        normalizer.update(observations)
    device = next(agent.actor.parameters()).device
    before, after = behavior_clone(
        agent.actor,
        normalizer,
        torch.from_numpy(observations).to(device),
        torch.from_numpy(actions).to(device),
        steps,
    )
    return (
        f"behavioral cloning: {steps} steps on {len(observations)} expert transitions, "
        f"{agent.actor.CLONE_LOSS_NAME} {before:.4f} -> {after:.4f}"
    )
