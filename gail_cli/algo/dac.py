"""Discriminator-Actor-Critic (Kostrikov et al. 2019) with SAC, and SAC on the env reward.

Each update samples one batch of the policy's transitions from the replay buffer:

1. every ``disc_every`` updates, a discriminator step on that batch against as many
   expert pairs (the loss, gradient penalty and statistics of :mod:`gail_cli.algo.gail`);
2. the batch's rewards from the current discriminator (so no stored reward goes stale);
3. a SAC step on those rewards.

Absorbing states: a terminated transition leads to an absorbing state that repeats
forever. As in :mod:`gail_cli.algo.gail`, that state is one discrete state whose logit is
the discriminator loss's optimum log(p_expert / p_policy), from the share of absorbing
samples on each side (the policy's: terminated rows of the buffer), so its value is
exactly r_abs / (1 - γ) and the critics bootstrap a termination from it. A time-limit
truncation bootstraps from Q(s') like any other step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from gail_cli.algo.agent import CheckpointedAgent, Stateful
from gail_cli.algo.gail import (
    absorbing_logit,
    absorbing_value,
    discriminator_step,
    expert_absorbing_fraction,
    policy_reward,
)
from gail_cli.algo.nets import Discriminator
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.replay import ReplayBuffer, Transitions
from gail_cli.algo.sac import SAC, SquashedGaussianActor, TwinQ
from gail_cli.settings import DiscriminatorConfig


class OffPolicyLearner(Protocol):
    """SAC on the env's reward or DAC: one gradient update from the replay buffer."""

    def update(self, buffer: ReplayBuffer) -> dict[str, torch.Tensor]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class SACLearner:
    """SAC on the environment's own reward (gail-expert); a termination is worth 0."""

    def __init__(self, sac: SAC, normalizer: ObservationNormalizer) -> None:
        self.sac, self.normalizer = sac, normalizer

    def update(self, buffer: ReplayBuffer) -> dict[str, torch.Tensor]:
        batch = buffer.sample(self.sac.config.batch_size)
        return self.sac.update(
            self.normalizer(batch.obs),
            batch.actions,
            batch.env_rewards,
            self.normalizer(batch.next_obs),
            batch.terminated,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"sac": self.sac.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sac.load_state_dict(state["sac"])


class DAC:
    """SAC on the reward of a discriminator trained on replay and expert batches.

    expert_obs (M, obs_dim) raw and expert_actions (M, act_dim) bounded, on the
    learner's device. expert_absorbing: kept expert episodes that ended in a
    termination, each of weight absorbing_weight (1 / subsample) against 1 per pair.
    """

    def __init__(
        self,
        sac: SAC,
        disc: Discriminator,
        config: DiscriminatorConfig,
        normalizer: ObservationNormalizer,
        expert_obs: torch.Tensor,
        expert_actions: torch.Tensor,
        expert_absorbing: int = 0,
        absorbing_weight: float = 1.0,
    ) -> None:
        self.sac, self.disc, self.config, self.normalizer = sac, disc, config, normalizer
        self.expert_obs, self.expert_actions = expert_obs, expert_actions
        self.disc_optim = torch.optim.Adam(disc.parameters(), lr=config.lr, fused=True)
        self.expert_absorbing_fraction = expert_absorbing_fraction(
            expert_obs.shape[0], expert_absorbing, absorbing_weight
        )
        self.updates = 0  # gradient updates so far (the discriminator's cadence)

    def absorbing_reward(self, buffer: ReplayBuffer) -> float:
        """r_abs: the reward of the absorbing state's logit, from both sides' shares."""
        logit = absorbing_logit(self.expert_absorbing_fraction, buffer.absorbing_fraction())
        return float(policy_reward(torch.tensor(logit), self.config.reward_form))

    def discriminator_update(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """One discriminator step: policy pairs obs (B, obs_dim) normalized and actions
        (B, act_dim) bounded against B expert pairs drawn uniformly."""
        index = torch.randint(
            0, self.expert_obs.shape[0], (obs.shape[0],), device=self.expert_obs.device
        )
        expert_obs = self.normalizer(self.expert_obs[index])
        return discriminator_step(
            self.disc,
            self.disc_optim,
            self.config,
            expert_obs,
            self.expert_actions[index],
            obs,
            actions,
        )

    def rewards(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The current discriminator's reward (B,) for normalized obs, bounded actions."""
        with torch.no_grad():
            return policy_reward(self.disc(obs, actions), self.config.reward_form)

    def update(self, buffer: ReplayBuffer) -> dict[str, torch.Tensor]:
        batch: Transitions = buffer.sample(self.sac.config.batch_size)
        obs, next_obs = self.normalizer(batch.obs), self.normalizer(batch.next_obs)
        stats: dict[str, torch.Tensor] = {}
        if self.updates % self.sac.config.disc_every == 0:
            stats.update(self.discriminator_update(obs, batch.actions))
        self.updates += 1
        rewards = self.rewards(obs, batch.actions)
        terminal_value = 0.0
        if self.config.absorbing:
            absorbing_reward = self.absorbing_reward(buffer)
            terminal_value = absorbing_value(absorbing_reward, self.sac.config.gamma)
            stats["absorbing_reward"] = torch.tensor(absorbing_reward)
        stats.update(
            self.sac.update(obs, batch.actions, rewards, next_obs, batch.terminated, terminal_value)
        )
        stats["disc_reward"] = rewards.mean()
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {
            "sac": self.sac.state_dict(),
            "disc_optim": self.disc_optim.state_dict(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sac.load_state_dict(state["sac"])
        self.disc_optim.load_state_dict(state["disc_optim"])
        self.updates = int(state["updates"])


@dataclass
class OffPolicyAgent(CheckpointedAgent):
    """The off-policy learner's whole state, as a checkpoint holds it: networks,
    observation transform, optimizers and the replay buffer."""

    actor: SquashedGaussianActor
    critic: TwinQ
    normalizer: ObservationNormalizer
    learner: OffPolicyLearner
    buffer: ReplayBuffer
    discriminator: Discriminator | None = None

    def parts(self) -> dict[str, Stateful]:
        return {"normalizer": self.normalizer, "learner": self.learner, "replay": self.buffer}
