"""Behavioral cloning: fit the actor's mean action to the expert's before GAIL starts.

A warm start, not a learner: it spends no env steps. The actor's log std is left as
configured, so PPO explores around the cloned mean from the first rollout on.
"""

from __future__ import annotations

import torch

from gail_cli.agent import Agent
from gail_cli.data import ExpertData
from gail_cli.nets import GaussianActor
from gail_cli.normalization import ObservationNormalizer

BC_BATCH_SIZE = 256
BC_LR = 1e-3


def behavior_clone(
    actor: GaussianActor,
    normalizer: ObservationNormalizer,
    expert_obs: torch.Tensor,
    expert_actions: torch.Tensor,
    steps: int,
) -> tuple[float, float]:
    """Regress the actor's mean on expert actions by mean squared error, in place.

    expert_obs: (N, obs_dim) raw observations; expert_actions: (N, act_dim) as the env
    received them. Runs ``steps`` Adam steps on minibatches of ``BC_BATCH_SIZE`` drawn
    with torch's global generator (seeded by the run's seed). Returns the mean squared
    error per action dimension on the whole expert set before and after, for the log.
    """
    obs = normalizer(expert_obs)
    mean_net = actor.mean_net
    optimizer = torch.optim.Adam(mean_net.parameters(), lr=BC_LR)

    def full_mse() -> float:
        with torch.no_grad():
            return float((mean_net(obs) - expert_actions).pow(2).mean())

    before = full_mse()
    for _ in range(steps):
        idx = torch.randint(len(obs), (BC_BATCH_SIZE,), device=obs.device)
        loss = (mean_net(obs[idx]) - expert_actions[idx]).pow(2).mean()
        # in place: the .grad tensors are views of PPO's flat gradient (ppo.flatten_parameters)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=False)
    return before, full_mse()


class CloneLoss:
    """A behavioral-cloning term that decays: it keeps the actor near the expert's actions
    early in GAIL and lets go as the discriminator's reward takes over.

    After each PPO update, ``steps`` Adam steps of mean squared error between the actor's
    mean on expert observations (normalized by the shared transform) and the expert's
    actions, minibatches of BC_BATCH_SIZE, at learning rate BC_LR * weight. The weight is
    ``coef`` at the start and falls linearly to 0 once ``decay`` of the budget (a fraction
    in (0, 1]) is spent: weight = coef * max(0, 1 - spent / decay).
    expert_obs: (M, obs_dim) raw; expert_actions: (M, act_dim) as the env received them.
    """

    def __init__(
        self,
        actor: GaussianActor,
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
        self.optimizer = torch.optim.Adam(actor.mean_net.parameters(), lr=BC_LR * coef)

    def set_fraction(self, remaining: float) -> None:
        """``remaining``: the fraction of the budget still to go (1 at the start)."""
        self.weight = self.coef * max(0.0, 1.0 - (1.0 - remaining) / self.decay)
        for group in self.optimizer.param_groups:
            group["lr"] = BC_LR * self.weight

    def step(self) -> float:
        """Run the steps at the current weight; returns the last minibatch's MSE (0 when
        the weight is 0 and nothing ran)."""
        if self.weight <= 0:
            return 0.0
        obs = self.normalizer(self.expert_obs)
        mean_net, loss = self.actor.mean_net, torch.zeros(())
        for _ in range(self.steps):
            idx = torch.randint(len(obs), (BC_BATCH_SIZE,), device=obs.device)
            loss = (mean_net(obs[idx]) - self.expert_actions[idx]).pow(2).mean()
            # in place: the .grad tensors are views of PPO's flat gradient
            self.optimizer.zero_grad(set_to_none=False)
            loss.backward()
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=False)
        return float(loss.detach())

    def state_dict(self) -> dict[str, object]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])  # type: ignore[arg-type]


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
        f"action MSE {before:.4f} -> {after:.4f}"
    )
