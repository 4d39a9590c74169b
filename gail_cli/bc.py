"""Behavioral cloning: fit the actor to the expert's actions before GAIL starts.

A warm start, not a learner: it spends no env steps. A Gaussian actor's mean is fitted
by mean squared error and its log std left as configured, so PPO explores around the
cloned mean from the first rollout on; a categorical actor's logits by cross-entropy.
"""

from __future__ import annotations

import torch

from gail_cli.agent import Agent
from gail_cli.data import ExpertData
from gail_cli.nets import Actor
from gail_cli.normalization import ObservationNormalizer

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
    for _ in range(steps):
        idx = torch.randint(len(obs), (BC_BATCH_SIZE,), device=obs.device)
        loss = actor.clone_loss(obs[idx], expert_actions[idx])
        # in place: the .grad tensors are views of PPO's flat gradient (ppo.flatten_parameters)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return before, full_loss()


def warm_start(agent: Agent, expert: ExpertData, steps: int) -> str:
    """Clone the expert into ``agent``'s actor before the first rollout; returns a log line.

    With running observation statistics, the expert's observations are folded in first,
    so the transform the clone is fitted through does not jump at the first rollout.
    """
    normalizer = agent.normalizer
    if normalizer.mode == "running":
        normalizer.update(expert.observations)
    device = next(agent.actor.parameters()).device
    before, after = behavior_clone(
        agent.actor,
        normalizer,
        torch.from_numpy(expert.observations).to(device),
        torch.from_numpy(expert.actions).to(device),
        steps,
    )
    return (
        f"behavioral cloning: {steps} steps on {expert.num_transitions} expert transitions, "
        f"{agent.actor.CLONE_LOSS_NAME} {before:.4f} -> {after:.4f}"
    )
