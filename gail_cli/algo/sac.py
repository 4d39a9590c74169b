"""Soft Actor-Critic (Haarnoja et al. 2018), the off-policy learner of ``algorithm=dac``.

Why SAC rather than TD3 (DAC's original learner): its exploration is the policy's own
entropy, tuned automatically toward a target entropy, where TD3 needs an exploration
noise scale and a target-policy noise scale per task; and its stochastic policy is what
the discriminator compares with the expert's noisy demonstrations.

The actor is a tanh-squashed Gaussian whose samples are mapped onto the env's action
bounds, so every action (stored, fed to the critics and the discriminator, sent to the
env) is already bounded. Log-probabilities are those of the squashed sample in [-1, 1]
per dimension, so the default target entropy -act_dim means the same for every env.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gail_cli.algo.nets import HALF_LOG_2PI, mlp
from gail_cli.settings import check_ranges, setting

# bounds of the actor's log std (in the pre-squash space)
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
OFF_POLICY_ALGORITHMS = ("dac", "sac")


@dataclass
class SACConfig:
    """The off-policy options of the ``algorithm`` group (conf/algorithm/dac.yaml).

    ``name``: dac (gail-train: SAC on the discriminator's reward) or sac (gail-expert:
    SAC on the env's reward; gail-expert treats dac the same). Counts are env steps
    unless named otherwise.
    """

    name: str = setting(
        "dac", "dac: SAC on the discriminator's reward (gail-train); sac: on the env's reward"
    )
    lr: float = setting(3e-4, "Adam learning rate of the actor, the critics and the temperature")
    batch_size: int = setting(
        256, "transitions per gradient step, for the critics, the actor and the discriminator"
    )
    buffer_size: int = setting(
        1_000_000, "transitions kept, the newest; its memory grows with the rows filled"
    )
    gamma: float = setting(0.99, "discount")
    tau: float = setting(0.005, "Polyak step of the target critics toward the critics, per update")
    learning_starts: int = setting(5000, "env steps collected before the first update")
    updates_per_step: int = setting(1, "gradient updates per env step")
    init_alpha: float = setting(0.2, "the entropy temperature at the start")
    autotune_alpha: bool = setting(
        True, "learn the temperature toward target_entropy; false keeps init_alpha"
    )
    target_entropy: float | None = setting(
        None, "nats of the squashed action in [-1, 1]^act_dim; null = -act_dim"
    )
    disc_every: int = setting(1, "one discriminator step every disc_every updates (gail-train)")

    def __post_init__(self) -> None:
        check_ranges(
            "algorithm",
            self,
            {
                "name": (
                    self.name in OFF_POLICY_ALGORITHMS,
                    f"one of {list(OFF_POLICY_ALGORITHMS)} (or choose algorithm=ppo)",
                ),
                "lr": (self.lr > 0, "> 0"),
                "batch_size": (self.batch_size >= 1, ">= 1"),
                "buffer_size": (self.buffer_size >= 1, ">= 1"),
                "gamma": (0 <= self.gamma < 1, "in [0, 1)"),
                "tau": (0 < self.tau <= 1, "in (0, 1]"),
                "learning_starts": (self.learning_starts >= 0, ">= 0"),
                "updates_per_step": (self.updates_per_step >= 1, ">= 1"),
                "init_alpha": (self.init_alpha > 0, "> 0"),
                "disc_every": (self.disc_every >= 1, ">= 1"),
            },
        )


class SquashedGaussianActor(nn.Module):
    """π(a|s): a Gaussian of state-dependent mean and std, squashed by tanh onto the
    action bounds. obs (B, obs_dim) normalized -> actions (B, act_dim) bounded."""

    CLONE_LOSS_NAME = "action MSE"

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "relu",
        action_low: np.ndarray | None = None,
        action_high: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.act_dim = act_dim
        # one MLP, its output the mean and the raw log std side by side (B, 2 * act_dim)
        self.net = mlp(obs_dim, hidden_sizes, 2 * act_dim, activation, out_gain=0.01)
        low = torch.full((act_dim,), -1.0) if action_low is None else torch.as_tensor(action_low)
        high = torch.ones(act_dim) if action_high is None else torch.as_tensor(action_high)
        # (act_dim,) centre and half-width of the bounds; a checkpoint restores them
        self.register_buffer("action_center", ((high + low) / 2).float())
        self.register_buffer("action_scale", ((high - low) / 2).float())

    def _mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, raw = self.net(obs).chunk(2, dim=-1)
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (torch.tanh(raw) + 1)
        return mean, log_std

    def _to_bounds(self, squashed: torch.Tensor) -> torch.Tensor:
        center, scale = self.action_center, self.action_scale
        assert isinstance(center, torch.Tensor) and isinstance(scale, torch.Tensor)
        return center + scale * squashed

    def sample_with_log_prob(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized sample (B, act_dim), bounded, and its log-probability (B,)
        as a squashed action in [-1, 1]^act_dim (tanh's Jacobian included)."""
        mean, log_std = self._mean_log_std(obs)
        noise = torch.randn_like(mean)
        pre_tanh = mean + log_std.exp() * noise
        gaussian = (-0.5 * noise.pow(2) - log_std - HALF_LOG_2PI).sum(-1)
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
        jacobian = (2 * (math.log(2) - pre_tanh - F.softplus(-2 * pre_tanh))).sum(-1)
        return self._to_bounds(torch.tanh(pre_tanh)), gaussian - jacobian

    def sample(self, obs: torch.Tensor) -> torch.Tensor:
        """Bounded action samples (B, act_dim) for obs (B, obs_dim)."""
        return self.sample_with_log_prob(obs)[0]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action (B, act_dim): the squashed mean, bounded."""
        return self._to_bounds(torch.tanh(self._mean_log_std(obs)[0]))

    def clone_net(self) -> nn.Module:
        """What behavioral cloning fits: the whole network."""
        return self.net

    def clone_loss(self, obs: torch.Tensor, expert_actions: torch.Tensor) -> torch.Tensor:
        """Mean squared error (0-d) of the deterministic action to expert actions."""
        return (self(obs) - expert_actions).pow(2).mean()

    def diagnostics(self) -> dict[str, float]:
        """Figures for the log: none beyond the entropy, which the update reports."""
        return {}


class TwinQ(nn.Module):
    """Two independent critics Q1, Q2 of (normalized obs (B, obs_dim), bounded actions
    (B, act_dim)) -> ((B,), (B,)); the smaller of the two curbs overestimation."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int], activation: str = "relu"
    ) -> None:
        super().__init__()
        self.q1 = mlp(obs_dim + act_dim, hidden_sizes, 1, activation)
        self.q2 = mlp(obs_dim + act_dim, hidden_sizes, 1, activation)

    def forward(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pair = torch.cat([obs, actions], dim=-1)
        return self.q1(pair).squeeze(-1), self.q2(pair).squeeze(-1)


class SAC:
    """The SAC update of actor, twin critics and temperature on one batch of transitions.

    The batch's rewards come from the caller (the discriminator, or the env), and so
    does the value of a terminated step's successor: 0 for the env's reward, the
    absorbing state's value for DAC.
    """

    def __init__(
        self, actor: SquashedGaussianActor, critic: TwinQ, config: SACConfig, act_dim: int
    ) -> None:
        self.actor, self.critic, self.config = actor, critic, config
        self.target_critic = copy.deepcopy(critic).requires_grad_(False)
        self.actor_optim = torch.optim.Adam(actor.parameters(), lr=config.lr, fused=True)
        self.critic_optim = torch.optim.Adam(critic.parameters(), lr=config.lr, fused=True)
        device = next(critic.parameters()).device
        self.log_alpha = torch.tensor(math.log(config.init_alpha), device=device)
        self.log_alpha.requires_grad_(config.autotune_alpha)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=config.lr, fused=True)
        self.target_entropy = (
            -float(act_dim) if config.target_entropy is None else config.target_entropy
        )

    @property
    def alpha(self) -> torch.Tensor:
        """The entropy temperature (0-d, detached)."""
        return self.log_alpha.detach().exp()

    def td_target(
        self,
        rewards: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        terminal_value: float = 0.0,
    ) -> torch.Tensor:
        """r + γ V(s') (B,), V the soft value min(Q1', Q2') - α log π of the target
        critics; a terminated step's V(s') is ``terminal_value`` instead."""
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.sample_with_log_prob(next_obs)
            q1, q2 = self.target_critic(next_obs, next_actions)
            soft_value = torch.min(q1, q2) - self.alpha * next_log_prob
            next_value = torch.where(
                terminated, torch.full_like(soft_value, terminal_value), soft_value
            )
            return rewards + self.config.gamma * next_value

    def update(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        rewards: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        terminal_value: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        """One step of critics, actor and temperature; then the target critics' Polyak
        step. obs, next_obs (B, obs_dim) normalized; actions (B, act_dim) bounded;
        rewards (B,); terminated (B,) bool. Returns 0-d detached statistics."""
        target = self.td_target(rewards, next_obs, terminated, terminal_value)
        q1, q2 = self.critic(obs, actions)
        critic_loss = 0.5 * ((q1 - target).pow(2).mean() + (q2 - target).pow(2).mean())
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()

        new_actions, log_prob = self.actor.sample_with_log_prob(obs)
        # the actor's gradient flows through the critics' input only: their weights'
        # gradients would be discarded, so they are not computed
        self.critic.requires_grad_(False)
        q_new = torch.min(*self.critic(obs, new_actions))
        self.critic.requires_grad_(True)
        actor_loss = (self.alpha * log_prob - q_new).mean()
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optim.step()

        if self.config.autotune_alpha:
            alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
            self.alpha_optim.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optim.step()

        with torch.no_grad():
            online: list[torch.Tensor] = list(self.critic.parameters())
            lagging: list[torch.Tensor] = list(self.target_critic.parameters())
            torch._foreach_lerp_(lagging, online, self.config.tau)
        return {
            "critic_loss": critic_loss.detach(),
            "actor_loss": actor_loss.detach(),
            "alpha": self.alpha,
            "entropy": -log_prob.detach().mean(),
            "q_values": q1.detach().mean(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "target_critic": self.target_critic.state_dict(),
            "actor_optim": self.actor_optim.state_dict(),
            "critic_optim": self.critic_optim.state_dict(),
            "alpha_optim": self.alpha_optim.state_dict(),
            "log_alpha": self.log_alpha.detach().clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.target_critic.load_state_dict(state["target_critic"])
        self.actor_optim.load_state_dict(state["actor_optim"])
        self.critic_optim.load_state_dict(state["critic_optim"])
        self.alpha_optim.load_state_dict(state["alpha_optim"])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
