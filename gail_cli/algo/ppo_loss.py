"""PPO's minibatch loss: the readable reference and its hand-derived gradient, side by side.

For one minibatch (shapes of ``records.Minibatch``: B rows) the loss is

    loss = actor_loss + vf_coef * vf_loss - ent_coef * entropy

    actor_loss = -mean(min(r A, clip(r, 1 - eps, 1 + eps) A))   r = π(a|s) / π_old(a|s)
                 (with dual_clip c: max(that objective, c A) where A < 0)
    vf_loss    = mean((V(s) - target)²)   (value_clip: the larger of it and the error of
                 V clipped to old_value ± eps)

with the advantages A normalized per minibatch when advantage_normalization is on.
:func:`policy_loss` and :func:`value_loss` state it in autograd terms: they are the
specification. Two gradient engines compute its gradient with one call, a
``Minibatch`` in, every actor and critic ``.grad`` written (the views of PPO's one flat
gradient) and :class:`MinibatchLosses` out:

- :class:`AutogradGradient`: autograd of the reference, for every actor;
- :class:`ManualGradient`: the same loss and its exact gradient derived by hand for the
  Gaussian MLP actor, with plain tensor operations and no graph. On CPU a 64-sample
  minibatch through two 64x64 MLPs costs far less arithmetic than autograd's
  per-operation bookkeeping (graph nodes, saved tensors, the engine's start).

``ppo.gradient`` picks the engine (:func:`make_gradient_engine`); tests/test_ppo.py checks
that both give the same losses and gradients for every option and activation.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch

from gail_cli.algo.manual_mlp import ManualMLP
from gail_cli.algo.nets import HALF_LOG_2PI, Actor, Critic, GaussianActor
from gail_cli.algo.records import Minibatch
from gail_cli.errors import GailError
from gail_cli.settings import PPOConfig


class MinibatchLosses(NamedTuple):
    """The loss terms of one minibatch step (0-d, detached) and log π/π_old (B,)."""

    actor_loss: torch.Tensor
    vf_loss: torch.Tensor
    entropy: torch.Tensor
    log_ratio: torch.Tensor


# -- the reference ----------------------------------------------------------------------


def normalized_advantages(advantages: torch.Tensor, cfg: PPOConfig) -> torch.Tensor:
    """Advantages (B,), standardized within the minibatch when advantage_normalization."""
    if cfg.advantage_normalization and advantages.numel() > 1:
        return (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages


def policy_loss(
    actor: Actor,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    cfg: PPOConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clipped surrogate loss (0-d, optional dual clip), mean entropy (0-d) and the
    detached log π/π_old (B,), for obs (B, obs_dim), actions (B, act_dim), the rest (B,)."""
    advantages = normalized_advantages(advantages, cfg)
    log_ratio = actor.log_prob(obs, actions) - old_log_probs
    ratio = log_ratio.exp()
    surrogate = ratio * advantages
    clipped = ratio.clamp(1.0 - cfg.eps_clip, 1.0 + cfg.eps_clip) * advantages
    objective = torch.min(surrogate, clipped)
    if cfg.dual_clip is not None:
        floored = torch.max(objective, cfg.dual_clip * advantages)
        objective = torch.where(advantages < 0, floored, objective)
    return -objective.mean(), actor.entropy(obs), log_ratio.detach()


def value_loss(
    values: torch.Tensor, targets: torch.Tensor, old_values: torch.Tensor, cfg: PPOConfig
) -> torch.Tensor:
    """Mean squared error of values (B,) to targets (B,); pessimistic clip if value_clip."""
    error = (targets - values).pow(2)
    if cfg.value_clip:
        clipped = old_values + (values - old_values).clamp(-cfg.eps_clip, cfg.eps_clip)
        error = torch.max(error, (targets - clipped).pow(2))
    return error.mean()


# -- the gradient engines ---------------------------------------------------------------


class MinibatchGradient(Protocol):
    """Writes the minibatch loss's gradient into every actor and critic ``.grad``."""

    def __call__(self, batch: Minibatch) -> MinibatchLosses: ...


class AutogradGradient:
    """The reference loss differentiated by autograd; any actor of ``nets``.

    ``flat_grad`` is PPO's one gradient tensor, of which every parameter's ``.grad`` is a
    view; autograd accumulates into those views, so it is zeroed first.
    """

    def __init__(
        self, actor: Actor, critic: Critic, flat_grad: torch.Tensor, config: PPOConfig
    ) -> None:
        self.actor, self.critic, self.flat_grad, self.config = actor, critic, flat_grad, config

    def __call__(self, batch: Minibatch) -> MinibatchLosses:
        cfg = self.config
        self.flat_grad.zero_()
        actor_loss, entropy, log_ratio = policy_loss(
            self.actor, batch.obs, batch.actions, batch.old_log_probs, batch.advantages, cfg
        )
        vf_loss = value_loss(self.critic(batch.obs), batch.targets, batch.old_values, cfg)
        (actor_loss + cfg.vf_coef * vf_loss - cfg.ent_coef * entropy).backward()
        return MinibatchLosses(actor_loss.detach(), vf_loss.detach(), entropy.detach(), log_ratio)


class ManualGradient:
    """The same loss and its gradient derived by hand, for a Gaussian MLP actor.

    Each parameter's ``.grad`` is overwritten (not accumulated), so nothing is zeroed.
    """

    def __init__(self, actor: GaussianActor, critic: Critic, config: PPOConfig) -> None:
        self.actor, self.config = actor, config
        self.actor_mlp, self.critic_mlp = ManualMLP(actor.mean_net), ManualMLP(critic.net)

    def __call__(self, batch: Minibatch) -> MinibatchLosses:
        with torch.no_grad():
            actor_loss, entropy, log_ratio = self._actor_part(batch)
            vf_loss = self._critic_part(batch)
        return MinibatchLosses(actor_loss, vf_loss, entropy, log_ratio)

    def _actor_part(self, batch: Minibatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clipped surrogate, entropy and log ratio (B,); writes the actor's gradients."""
        cfg = self.config
        obs, actions, old_log_probs = batch.obs, batch.actions, batch.old_log_probs
        advantages = normalized_advantages(batch.advantages, cfg)
        log_std = self.actor.log_std
        size = obs.shape[0]
        mean, inputs = self.actor_mlp.forward(obs)
        inv_std = torch.exp(-log_std)
        z = (actions - mean).mul_(inv_std)
        log_prob = (-0.5 * z * z - log_std - HALF_LOG_2PI).sum(-1)
        log_ratio = log_prob - old_log_probs
        ratio = log_ratio.exp()
        eps = cfg.eps_clip
        surrogate = ratio * advantages
        clipped = ratio.clamp(1.0 - eps, 1.0 + eps).mul_(advantages)
        objective = torch.min(surrogate, clipped)
        # d objective / d ratio is the advantage where the unclipped term is the minimum
        # (ties: both terms have that slope), else 0
        live = surrogate <= clipped
        dual = cfg.dual_clip
        if dual is not None:
            floor = dual * advantages
            floored = (advantages < 0) & (floor > objective)
            objective = torch.where(floored, floor, objective)
            live &= ~floored
        actor_loss = -objective.mean()
        entropy = log_std.sum() + log_std.shape[0] * (0.5 + HALF_LOG_2PI)
        # d actor_loss / d log_prob (B,), then through the Gaussian
        g_log_prob = (advantages * ratio).mul_(live).mul_(-1.0 / size)
        g_z = g_log_prob.unsqueeze(-1) * z
        self.actor_mlp.backward(inputs, g_z * inv_std)
        assert log_std.grad is not None
        # d log_prob / d log_std = z^2 - 1; the entropy term adds -ent_coef
        torch.sum(g_z * z - g_log_prob.unsqueeze(-1), 0, out=log_std.grad)
        log_std.grad.sub_(cfg.ent_coef)
        return actor_loss, entropy, log_ratio

    def _critic_part(self, batch: Minibatch) -> torch.Tensor:
        """Value loss; writes the critic's gradients (scaled by vf_coef)."""
        cfg = self.config
        obs, targets, old_values = batch.obs, batch.targets, batch.old_values
        values, inputs = self.critic_mlp.forward(obs)
        values = values.squeeze(-1)
        residual = values - targets
        error = residual * residual
        if cfg.value_clip:
            eps = cfg.eps_clip
            change = values - old_values
            clipped_residual = old_values + change.clamp(-eps, eps) - targets
            clipped_error = clipped_residual * clipped_residual
            use_clipped = clipped_error > error
            # the clipped branch only has slope where the change was inside the clip range
            residual = torch.where(use_clipped, clipped_residual * (change.abs() <= eps), residual)
            error = torch.max(error, clipped_error)
        vf_loss = error.mean()
        g_values = residual.mul_(2.0 * cfg.vf_coef / obs.shape[0])
        self.critic_mlp.backward(inputs, g_values.unsqueeze(-1))
        return vf_loss


def manual_gradient_applies(actor: Actor, critic: Critic) -> bool:
    """True where the derivation holds: a GaussianActor and MLPs ``ManualMLP`` can run."""
    if not isinstance(actor, GaussianActor):
        return False
    try:
        ManualMLP(actor.mean_net)
        ManualMLP(critic.net)
    except ValueError:
        return False
    return True


def make_gradient_engine(
    actor: Actor, critic: Critic, flat_grad: torch.Tensor, config: PPOConfig
) -> AutogradGradient | ManualGradient:
    """The engine ``config.gradient`` names: ``manual``, ``autograd``, or ``auto`` (manual
    where it applies, i.e. for the Gaussian MLP actor, autograd otherwise)."""
    applies = manual_gradient_applies(actor, critic)
    if config.gradient == "manual" and not applies:
        raise GailError(
            f"ppo.gradient=manual needs a Gaussian MLP actor (continuous actions), not a "
            f"{type(actor).__name__}; use ppo.gradient=auto or ppo.gradient=autograd"
        )
    if config.gradient != "autograd" and applies:
        assert isinstance(actor, GaussianActor)
        return ManualGradient(actor, critic, config)
    return AutogradGradient(actor, critic, flat_grad, config)
