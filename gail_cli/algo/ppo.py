"""PPO: GAE, batched no-grad passes and the clipped update, for any actor of ``nets``.

The loss of each minibatch and its gradient are ``ppo_loss``'s (autograd or hand-derived,
by ``ppo.gradient``); return scaling is ``normalization.ReturnScaler``. Every parameter of
Tianshou 2's PPO/GAIL is here with its meaning there.
Shapes: T = steps per env in a rollout, N = number of envs, B = T * N.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from gail_cli.algo.manual_mlp import ManualMLP
from gail_cli.algo.nets import Actor, Critic
from gail_cli.algo.normalization import ObservationNormalizer, ReturnScaler
from gail_cli.algo.optim import FlatAdam
from gail_cli.algo.ppo_loss import MinibatchLosses, make_gradient_engine
from gail_cli.algo.records import Minibatch, Rollout
from gail_cli.algo.stats import PPOStats, SummaryStats
from gail_cli.settings import PPOConfig


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    done: torch.Tensor,
    gamma: float,
    gae_lambda: float,
    terminal_value: float = 0.0,
) -> torch.Tensor:
    """Generalized advantage estimates, all arguments and the result of shape (T, N).

    ``next_values`` are V(s_{t+1}) of the true next (or final) observation: a truncated
    step bootstraps from it, a terminated step from ``terminal_value`` instead (the value
    of what follows a termination, in reward units: 0 for a plain end, r_abs / (1 - gamma)
    for an absorbing state of reward r_abs). ``done`` (terminated or truncated) stops the
    recursion across episode boundaries; the rollout's last step bootstraps from V(s_T)
    and has no successor advantage.
    """
    not_done = 1.0 - done.float()
    bootstrap = torch.where(terminated, torch.full_like(next_values, terminal_value), next_values)
    deltas = (rewards + gamma * bootstrap - values).cpu().numpy()
    decay = (gamma * gae_lambda * not_done).cpu().numpy()
    advantages = np.zeros_like(deltas)
    running = np.zeros(deltas.shape[1], dtype=deltas.dtype)
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + decay[t] * running
        advantages[t] = running
    return torch.from_numpy(advantages).to(rewards.device)


def batched(
    fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, max_batchsize: int
) -> torch.Tensor:
    """fn(*inputs) without gradients, in chunks of at most max_batchsize rows.

    Every input has the same leading dimension B; fn maps chunks to a (chunk,) result.
    """
    with torch.no_grad():
        chunks = zip(*(x.split(max_batchsize) for x in inputs), strict=True)
        return torch.cat([fn(*chunk) for chunk in chunks])


def flatten_parameters(modules: list[nn.Module]) -> nn.Parameter:
    """Re-home the modules' parameters (and gradients) as views of one flat tensor.

    The optimizer and gradient clipping then touch one tensor instead of one
    per layer: on CPU, with 64-sample minibatches, their per-tensor overhead is a large
    part of each PPO step. The hand-derived gradient writes each step's gradient into the
    existing ``.grad`` views in place (overwriting them), so they must never be set to None.
    """
    params = [p for module in modules for p in module.parameters()]
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        size = p.numel()
        p.data = flat.data[offset : offset + size].view_as(p)
        p.grad = flat.grad[offset : offset + size].view_as(p)
        offset += size
    return flat


def shuffled_minibatches(columns: tuple[torch.Tensor, ...], batch_size: int) -> Iterator[Minibatch]:
    """The rows of the six Minibatch columns (each with B rows) in one random order, cut
    into minibatches of batch_size rows (the last may be smaller).

    One gather per column per epoch; the minibatches are then free views.
    """
    order = torch.randperm(columns[0].shape[0], device=columns[0].device)
    shuffled = [column[order].split(batch_size) for column in columns]
    for minibatch in zip(*shuffled, strict=True):
        yield Minibatch(*minibatch)


CRITIC_PART = 1  # the critic's part of the flat parameter vector (the actor's is 0)


class PPO:
    """The clipped PPO update with every option of Tianshou 2's PPO.

    ``update`` takes normalized observations and a reward per step; which reward (the
    discriminator's or the environment's) is the caller's business.
    """

    def __init__(
        self, actor: Actor, critic: Critic, config: PPOConfig, device: torch.device
    ) -> None:
        self.actor, self.critic, self.config, self.device = actor, critic, config, device
        self.flat = flatten_parameters([actor, critic])
        assert self.flat.grad is not None
        # the actor's parameters come first in the flat vector
        self.actor_size = sum(p.numel() for p in actor.parameters())
        # True: updates train the critic alone (see set_critic_warmup)
        self.critic_warmup = False
        self.critic_forward = ManualMLP(critic.net).output  # faster than the module
        # the engine that writes each minibatch's gradient into self.flat.grad
        self.gradient_engine = make_gradient_engine(actor, critic, self.flat.grad, config)
        # per-part step counts: an actor that starts after a critic-only warm-up takes a
        # fresh Adam's first steps
        critic_size = self.flat.numel() - self.actor_size
        self.optim = FlatAdam(
            self.flat, lr=config.lr, eps=1e-5, part_sizes=(self.actor_size, critic_size)
        )
        self.return_scaler = ReturnScaler(config.gamma, config.return_scaling)
        self.smoothed_loss: float | None = None

    def set_lr_fraction(self, fraction: float) -> None:
        """Scale the learning rate to fraction * lr (linear decay when lr_decay is on)."""
        lr = self.config.lr * (max(fraction, 0.0) if self.config.lr_decay else 1.0)
        self.optim.lr = lr

    def set_critic_warmup(self, active: bool) -> None:
        """While active, updates train the critic alone: Adam steps the critic's part
        only, and the actor's gradient is zeroed so that clipping sees the critic's."""
        self.critic_warmup = active

    def update(
        self,
        obs: torch.Tensor,
        next_obs: torch.Tensor,
        actions: torch.Tensor,
        rewards: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        terminal_value: float = 0.0,
    ) -> PPOStats:
        """Run repeat_per_collect epochs of minibatch PPO on one rollout.

        obs, next_obs: (T, N, obs_dim) normalized; actions: (T, N, act_dim) as sampled;
        rewards, terminated, truncated: (T, N); terminal_value: the return (reward units)
        a terminated step bootstraps from (see compute_gae).
        """
        cfg, start = self.config, time.perf_counter()
        done = terminated | truncated
        flat_obs, flat_actions = obs.flatten(0, 1), actions.flatten(0, 1)
        old_log_probs = batched(
            self.actor.log_prob, flat_obs, flat_actions, max_batchsize=cfg.max_batchsize
        )
        steps: list[MinibatchLosses] = []
        explained: float | None = None
        for repeat in range(cfg.repeat_per_collect):
            if repeat == 0 or cfg.recompute_advantage:
                advantages, targets, old_values = self.advantages_and_returns(
                    obs, next_obs, rewards, terminated, done, repeat == 0, terminal_value
                )
                if repeat == 0:
                    explained = explained_variance(old_values, targets)
            columns = (flat_obs, flat_actions, old_log_probs, advantages, targets, old_values)
            for batch in shuffled_minibatches(columns, cfg.batch_size):
                steps.append(self._minibatch_step(batch))
        stats = update_statistics(steps, cfg, explained, self.smoothed_loss, self.actor)
        self.smoothed_loss = stats.smoothed_loss
        return dataclasses.replace(stats, train_time=time.perf_counter() - start)

    def _minibatch_step(self, batch: Minibatch) -> MinibatchLosses:
        """One gradient step: the engine writes the flat gradient; the actor's part is
        zeroed during the critic warm-up; clip_grad_norm_'s formula caps its norm at
        max_grad_norm; Adam steps the parts in training."""
        losses = self.gradient_engine(batch)
        grad = self.flat.grad
        assert grad is not None
        if self.critic_warmup:
            grad[: self.actor_size].zero_()
        if self.config.max_grad_norm is not None:
            grad.mul_((self.config.max_grad_norm / (grad.norm() + 1e-6)).clamp_(max=1.0))
        self.optim.step((CRITIC_PART,) if self.critic_warmup else None)
        return losses

    def advantages_and_returns(
        self,
        obs: torch.Tensor,
        next_obs: torch.Tensor,
        rewards: torch.Tensor,
        terminated: torch.Tensor,
        done: torch.Tensor,
        update_return_stats: bool,
        terminal_value: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Advantages (B,), value targets (B,) and current values (B,), in critic units.

        With return_scaling the critic predicts returns divided by a running std: values
        are unscaled for GAE, and targets scaled by the std from before this rollout,
        which ``update_return_stats`` then folds the rollout's rewards into.
        """
        cfg = self.config
        t, n = rewards.shape
        values = batched(self._values, obs.flatten(0, 1), max_batchsize=cfg.max_batchsize)
        next_values = next_state_values(
            values.view(t, n), next_obs, done, self._values, cfg.max_batchsize
        )
        std = self.return_scaler.std
        advantages = compute_gae(
            rewards,
            values.view(t, n) * std,
            next_values * std,
            terminated,
            done,
            cfg.gamma,
            cfg.gae_lambda,
            terminal_value,
        ).flatten()
        returns = advantages + values * std
        if update_return_stats:
            self.return_scaler.fold_in(rewards, done)
        return advantages, returns / std, values

    def _values(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s) (B,) for obs (B, obs_dim), through the faster hand-written forward."""
        return self.critic_forward(obs).squeeze(-1)

    def state_dict(self) -> dict[str, object]:
        smoothed = float("nan") if self.smoothed_loss is None else self.smoothed_loss
        return {
            "optim": self.optim.state_dict(),
            **self.return_scaler.state_dict(),
            "smoothed_loss": torch.tensor(smoothed),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.optim.load_state_dict(state["optim"])  # type: ignore[arg-type]
        self.return_scaler.load_state_dict(state)
        smoothed = float(state["smoothed_loss"])  # type: ignore[arg-type]
        self.smoothed_loss = None if math.isnan(smoothed) else smoothed


def next_state_values(
    values: torch.Tensor,
    next_obs: torch.Tensor,
    done: torch.Tensor,
    value_fn: Callable[[torch.Tensor], torch.Tensor],
    max_batchsize: int,
) -> torch.Tensor:
    """V(s_{t+1}) (T, N) from values (T, N) of the rollout's observations.

    Within an episode s_{t+1} is the next row's observation, whose value is known; only
    episode ends (next_obs (T, N, obs_dim) holds the true final observation there) and
    the rollout's last row need ``value_fn``, which halves the critic's passes.
    """
    needed = done.clone()
    needed[-1] = True
    next_values = torch.empty_like(values)
    next_values[:-1] = values[1:]
    next_values[needed] = batched(value_fn, next_obs[needed], max_batchsize=max_batchsize)
    return next_values


def update_statistics(
    steps: list[MinibatchLosses],
    cfg: PPOConfig,
    explained: float | None,
    smoothed_loss: float | None,
    actor: Actor,
) -> PPOStats:
    """One update's record (see PPOStats) from its minibatch steps' losses.

    ``smoothed_loss`` is the previous update's (None at the first); train_time is left 0
    for the caller, which measured it.
    """
    actor_loss = torch.stack([step.actor_loss for step in steps])
    vf_loss = torch.stack([step.vf_loss for step in steps])
    entropy = torch.stack([step.entropy for step in steps])
    loss = SummaryStats.of(actor_loss + cfg.vf_coef * vf_loss - cfg.ent_coef * entropy)
    entropy_stats = SummaryStats.of(entropy)
    if smoothed_loss is not None:
        smoothed_loss = 0.9 * smoothed_loss + 0.1 * loss.mean
    approx_kl, clip_fraction = policy_change(
        torch.cat([step.log_ratio for step in steps]), cfg.eps_clip
    )
    return PPOStats(
        loss=loss,
        actor_loss=SummaryStats.of(actor_loss),
        vf_loss=SummaryStats.of(vf_loss),
        ent_loss=entropy_stats,
        smoothed_loss=loss.mean if smoothed_loss is None else smoothed_loss,
        gradient_steps=len(steps),
        approx_kl=approx_kl,
        clip_fraction=clip_fraction,
        explained_variance=explained,
        entropy=entropy_stats.mean,
        action_std=actor.action_std(),
        train_time=0.0,
    )


def explained_variance(values: torch.Tensor, targets: torch.Tensor) -> float | None:
    """1 - Var(targets - values) / Var(targets) of (B,) tensors: 1 is a perfect critic,
    0 no better than a constant; None where the targets do not vary."""
    target_var = float(targets.var())
    if not target_var > 0:
        return None
    return 1.0 - float((targets - values).var()) / target_var


def policy_change(log_ratio: torch.Tensor, eps_clip: float) -> tuple[float, float]:
    """(approx_kl, clip_fraction) over the log π/π_old (B,) of every minibatch sample.

    approx_kl is the unbiased, non-negative estimator E[(r - 1) - log r] of
    KL(π_old || π); clip_fraction the share of samples with |r - 1| > eps_clip.
    """
    ratio = log_ratio.exp()
    kl, clipped = torch.stack(
        [((ratio - 1) - log_ratio).mean(), ((ratio - 1).abs() > eps_clip).float().mean()]
    ).tolist()
    return kl, clipped


class PPOLearner:
    """PPO on the environment's own reward (gail-expert): the GAIL learner's counterpart."""

    def __init__(self, ppo: PPO, normalizer: ObservationNormalizer) -> None:
        self.ppo, self.normalizer = ppo, normalizer

    def set_lr_fraction(self, fraction: float) -> None:
        self.ppo.set_lr_fraction(fraction)

    def set_critic_warmup(self, active: bool) -> None:
        self.ppo.set_critic_warmup(active)

    def update(self, rollout: Rollout) -> PPOStats:
        return self.ppo.update(
            self.normalizer(rollout.obs),
            self.normalizer(rollout.next_obs),
            rollout.actions,
            rollout.env_rewards,
            rollout.terminated,
            rollout.truncated,
        )

    def state_dict(self) -> dict[str, object]:
        return {}

    def load_state_dict(self, state: dict[str, object]) -> None:
        pass
