"""PPO's minibatch loss with its gradient derived by hand, written into ``.grad`` in place.

On CPU, a 64-sample minibatch through two 64x64 MLPs costs far less arithmetic than
autograd's per-operation bookkeeping (graph nodes, saved tensors, the engine's start).
This module computes the same loss as ``ppo.policy_loss`` + ``ppo.value_loss`` and the
exact gradient of it with plain tensor operations, no graph. The readable autograd
functions stay the specification: tests check these gradients against them for every
option (advantage normalization, dual clip, value clip, each activation).
"""

from __future__ import annotations

import torch
from torch import nn

from gail_cli.algo.nets import HALF_LOG_2PI, GaussianActor
from gail_cli.algo.records import Minibatch
from gail_cli.settings import PPOConfig


class ManualMLP:
    """Forward and backward of an ``nets.mlp`` Sequential (Linear, activation, ..., Linear).

    The backward writes each layer's weight and bias gradient into the existing
    ``.grad`` tensors (overwriting them), so nothing needs zeroing between steps.
    """

    def __init__(self, net: nn.Sequential) -> None:
        self.linears = [m for m in net if isinstance(m, nn.Linear)]
        kinds = {type(m) for m in net if not isinstance(m, nn.Linear)}
        if len(kinds) > 1 or not kinds <= {nn.Tanh, nn.ReLU, nn.ELU}:
            raise ValueError(f"unsupported MLP activations: {kinds}")
        self.activation = kinds.pop() if kinds else nn.Tanh
        if self.activation is nn.ELU and any(m.alpha != 1.0 for m in net if isinstance(m, nn.ELU)):
            raise ValueError("ELU with alpha != 1 is not supported")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output (B, out) and the input of every linear layer (kept for the backward).

        tanh is computed as 2σ(2z) - 1, with the 2z folded into the layer's addmm: on
        CPU torch's tanh kernel is several times slower than its sigmoid
        (docs/performance.md); the results agree to float rounding.
        """
        inputs = []
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            inputs.append(x)
            if i == last:
                x = torch.addmm(layer.bias, x, layer.weight.t())
            elif self.activation is nn.Tanh:
                x = torch.addmm(layer.bias, x, layer.weight.t(), beta=2, alpha=2)
                x = x.sigmoid_().mul_(2.0).sub_(1.0)
            elif self.activation is nn.ReLU:
                x = torch.addmm(layer.bias, x, layer.weight.t()).relu_()
            else:
                x = torch.nn.functional.elu(
                    torch.addmm(layer.bias, x, layer.weight.t()), inplace=True
                )
        return x, inputs

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output (B, out) alone (no-grad passes: values, inference)."""
        return self.forward(x)[0]

    def _activation_slope(self, h: torch.Tensor) -> torch.Tensor:
        """The activation's derivative, from its output h (B, width)."""
        if self.activation is nn.Tanh:
            return 1.0 - h * h
        if self.activation is nn.ReLU:
            return (h > 0).to(h.dtype)
        return torch.where(h > 0, 1.0, h + 1.0)  # ELU(alpha=1): exp(x) = h + 1 for x <= 0

    def backward(self, inputs: list[torch.Tensor], grad_out: torch.Tensor) -> None:
        """Write d loss / d parameters, given d loss / d output (B, out)."""
        grad = grad_out
        for i in range(len(self.linears) - 1, -1, -1):
            layer = self.linears[i]
            assert layer.weight.grad is not None and layer.bias.grad is not None
            torch.mm(grad.t(), inputs[i], out=layer.weight.grad)
            torch.sum(grad, 0, out=layer.bias.grad)
            if i > 0:
                grad = torch.mm(grad, layer.weight).mul_(self._activation_slope(inputs[i]))


def fast_path_applies(actor: nn.Module, critic_net: nn.Sequential) -> bool:
    """True where the derivation holds: a GaussianActor and MLPs ``ManualMLP`` can run.

    Every other actor (the categorical one, other layers) takes autograd's path.
    """
    if not isinstance(actor, GaussianActor):
        return False
    try:
        ManualMLP(actor.mean_net)
        ManualMLP(critic_net)
    except ValueError:
        return False
    return True


class ManualPPOLoss:
    """The gradient of actor_loss + vf_coef * vf_loss - ent_coef * entropy.

    Option names and meaning are PPOConfig's; shapes are as in ``PPO._minibatch_step``.
    """

    def __init__(self, actor: GaussianActor, critic_net: nn.Sequential) -> None:
        self.actor, self.actor_mlp = actor, ManualMLP(actor.mean_net)
        self.critic_mlp = ManualMLP(critic_net)

    def loss_and_grad(
        self, batch: Minibatch, cfg: PPOConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fill every actor and critic ``.grad``; return (actor_loss, vf_loss, entropy,
        log_ratio): three 0-d losses and the (B,) log π/π_old of the minibatch.

        The loss is actor_loss + vf_coef * vf_loss - ent_coef * entropy (left to the
        caller, which sums many steps at once).
        """
        with torch.no_grad():
            actor_loss, entropy, log_ratio = self._actor_part(batch, cfg)
            vf_loss = self._critic_part(batch, cfg)
        return actor_loss, vf_loss, entropy, log_ratio

    def _actor_part(
        self, batch: Minibatch, cfg: PPOConfig
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clipped surrogate, entropy and log ratio (B,); writes the actor's gradients."""
        obs, actions, old_log_probs, advantages = batch[:4]
        log_std = self.actor.log_std
        size = obs.shape[0]
        if cfg.advantage_normalization and size > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
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

    def _critic_part(self, batch: Minibatch, cfg: PPOConfig) -> torch.Tensor:
        """Value loss; writes the critic's gradients (scaled by vf_coef)."""
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
