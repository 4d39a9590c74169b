"""PPO: GAE, batched no-grad passes and the clipped update, for any actor of ``nets``.

The gradient of each minibatch comes from ``ppo_grad``'s hand-derived path where its
derivation holds (Gaussian MLP actor), else from autograd; both compute the same update.

Every parameter of the seed (Tianshou 2's PPO/GAIL) is here with the seed's meaning.
Shapes: T = steps per env in a rollout, N = number of envs, B = T * N.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from gail_cli.algo.nets import Actor, Critic
from gail_cli.algo.normalization import ObservationNormalizer, RunningMeanStd
from gail_cli.algo.optim import FlatAdam
from gail_cli.algo.ppo_grad import ManualMLP, ManualPPOLoss, fast_path_applies
from gail_cli.algo.records import Minibatch, Rollout
from gail_cli.algo.stats import SummaryStats, summarize
from gail_cli.settings import PPOConfig


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
    part of each PPO step. ``ppo_grad`` writes each step's gradient into the existing
    ``.grad`` views in place (overwriting them), so they must never be set to None.
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


CRITIC_PART = 1  # the critic's part of the flat parameter vector (the actor's is 0)


class PPO:
    """The clipped PPO update with every option of the seed.

    ``update`` takes normalized observations and a reward per step; which reward (the
    discriminator's or the environment's) is the caller's business. ``fast_grad``: None
    picks ``ppo_grad``'s hand-derived gradient wherever it applies, False forces
    autograd (the tests compare the two).
    """

    def __init__(
        self,
        actor: Actor,
        critic: Critic,
        config: PPOConfig,
        device: torch.device,
        fast_grad: bool | None = None,
    ) -> None:
        self.actor, self.critic, self.config, self.device = actor, critic, config, device
        self.flat = flatten_parameters([actor, critic])
        # the actor's parameters come first in the flat vector
        self.actor_size = sum(p.numel() for p in actor.parameters())
        # False: updates train the critic alone (Adam steps the critic's part only; the
        # actor's gradient is zeroed so that gradient clipping sees the critic's alone)
        self.train_actor = True
        self.critic_mlp = ManualMLP(critic.net)
        applies = fast_path_applies(actor, critic.net)
        if fast_grad and not applies:
            raise ValueError("the hand-derived PPO gradient needs a Gaussian MLP actor")
        use_fast = applies if fast_grad is None else fast_grad
        self.loss = ManualPPOLoss(actor, critic.net) if use_fast else None  # type: ignore[arg-type]
        critic_size = self.flat.numel() - self.actor_size
        # per-part step counts: an actor that starts after a critic-only warm-up takes a
        # fresh Adam's first steps
        self.optim = FlatAdam(
            self.flat, lr=config.lr, eps=1e-5, part_sizes=(self.actor_size, critic_size)
        )
        self.return_rms = RunningMeanStd()
        # each env's discounted reward sum so far (return_scaling's statistic), or None
        self.reward_sums: np.ndarray | None = None
        self.smoothed_loss: float | None = None

    def set_lr_fraction(self, fraction: float) -> None:
        """Scale the learning rate to fraction * lr (linear decay when lr_decay is on)."""
        lr = self.config.lr * (max(fraction, 0.0) if self.config.lr_decay else 1.0)
        self.optim.lr = lr

    def _return_std(self) -> float:
        return math.sqrt(self.return_rms.var + 1e-8) if self.config.return_scaling else 1.0

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
        are unscaled for GAE, and targets scaled by the std from before this rollout.
        The std is that of each env's discounted reward sums (``discounted_reward_sums``),
        a statistic of the rewards alone. (The seed folds in the GAE returns instead; they
        bootstrap from the scaled critic, so a critic whose error exceeds one std makes
        the std grow by that factor every rollout: a HalfCheetah run's actor loss reached
        -1e13 at 100k env steps, and its actor froze.)
        """
        cfg = self.config
        t, n = rewards.shape
        values = batched(self._values, obs.flatten(0, 1), max_batchsize=cfg.max_batchsize)
        next_values = self._next_values(values.view(t, n), next_obs, done)
        std = self._return_std()
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
        if cfg.return_scaling:
            targets = returns / std
            if update_return_stats:
                self._fold_in_reward_sums(rewards, done)
        else:
            targets = returns
        return advantages, targets, values

    def _fold_in_reward_sums(self, rewards: torch.Tensor, done: torch.Tensor) -> None:
        """Fold this rollout's (T, N) discounted reward sums into return_rms."""
        rewards_np = rewards.cpu().numpy().astype(np.float64)
        carry = self.reward_sums
        if carry is None or carry.shape != rewards_np.shape[1:]:
            carry = np.zeros(rewards_np.shape[1], dtype=np.float64)
        sums, self.reward_sums = discounted_reward_sums(
            rewards_np, done.cpu().numpy(), carry, self.config.gamma
        )
        self.return_rms.update(sums.reshape(-1))

    def _values(self, obs: torch.Tensor) -> torch.Tensor:
        """V(s) (B,) for obs (B, obs_dim): the critic through ppo_grad's faster forward."""
        return self.critic_mlp.output(obs).squeeze(-1)

    def _next_values(
        self, values: torch.Tensor, next_obs: torch.Tensor, done: torch.Tensor
    ) -> torch.Tensor:
        """V(s_{t+1}) (T, N) from values (T, N) of the rollout's observations.

        Within an episode s_{t+1} is the next row's observation, whose value is known;
        only episode ends (the true final observation) and the rollout's last row need
        the critic, which halves its passes over the rollout.
        """
        needed = done.clone()
        needed[-1] = True
        next_values = torch.empty_like(values)
        next_values[:-1] = values[1:]
        next_values[needed] = batched(
            self._values, next_obs[needed], max_batchsize=self.config.max_batchsize
        )
        return next_values

    def update(
        self,
        obs: torch.Tensor,
        next_obs: torch.Tensor,
        actions: torch.Tensor,
        rewards: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        terminal_value: float = 0.0,
    ) -> dict[str, SummaryStats | float | int]:
        """Run repeat_per_collect epochs of minibatch PPO on one rollout.

        obs, next_obs: (T, N, obs_dim) normalized; actions: (T, N, act_dim) as sampled;
        rewards, terminated, truncated: (T, N); terminal_value: the return (reward units)
        a terminated step bootstraps from (see compute_gae). Returns the seed's PPO
        statistics and the
        diagnostics approx_kl, clip_fraction (over every minibatch step), explained_variance
        (of the critic before the update), entropy, and the actor's own (action_std).
        """
        cfg = self.config
        start = time.perf_counter()
        done = terminated | truncated
        flat_obs = obs.flatten(0, 1)
        flat_actions = actions.flatten(0, 1)
        old_log_probs = batched(
            self.actor.log_prob, flat_obs, flat_actions, max_batchsize=cfg.max_batchsize
        )
        per_step: dict[str, list[torch.Tensor]] = {"actor_loss": [], "vf_loss": [], "ent_loss": []}
        log_ratios: list[torch.Tensor] = []
        explained: float | None = None
        size = flat_obs.shape[0]
        for repeat in range(cfg.repeat_per_collect):
            if repeat == 0 or cfg.recompute_advantage:
                advantages, targets, old_values = self.advantages_and_returns(
                    obs,
                    next_obs,
                    rewards,
                    terminated,
                    done,
                    update_return_stats=repeat == 0,
                    terminal_value=terminal_value,
                )
                if repeat == 0:
                    explained = explained_variance(old_values, targets)
            # one gather per tensor per epoch; minibatches are then free views
            order = torch.randperm(size, device=self.device)
            columns = (flat_obs, flat_actions, old_log_probs, advantages, targets, old_values)
            shuffled = [column[order].split(cfg.batch_size) for column in columns]
            for minibatch in zip(*shuffled, strict=True):
                *losses, log_ratio = self._minibatch_step(Minibatch(*minibatch))
                for name, value in zip(per_step, losses, strict=True):
                    per_step[name].append(value)
                log_ratios.append(log_ratio)
        # the total loss of every step at once, rather than three tiny operations per step
        parts = {name: torch.stack(values) for name, values in per_step.items()}
        total = parts["actor_loss"] + cfg.vf_coef * parts["vf_loss"]
        per_step["loss"] = [total - cfg.ent_coef * parts["ent_loss"]]
        stats: dict[str, SummaryStats | float | int] = dict(summarize(per_step))
        loss_mean = stats["loss"].mean  # type: ignore[union-attr]
        self.smoothed_loss = (
            loss_mean if self.smoothed_loss is None else 0.9 * self.smoothed_loss + 0.1 * loss_mean
        )
        stats["smoothed_loss"] = self.smoothed_loss
        stats["gradient_steps"] = len(per_step["actor_loss"])
        stats.update(policy_change(torch.cat(log_ratios), cfg.eps_clip))
        if explained is not None:
            stats["explained_variance"] = explained
        stats["entropy"] = stats["ent_loss"].mean  # type: ignore[union-attr]
        stats.update(self.actor.diagnostics())
        stats["train_time"] = time.perf_counter() - start
        return stats

    @property
    def gradient_path(self) -> str:
        """'hand-derived' (ppo_grad) or 'autograd': how minibatch gradients are computed."""
        return "hand-derived" if self.loss is not None else "autograd"

    def _minibatch_step(self, batch: Minibatch) -> tuple[torch.Tensor, ...]:
        """One gradient step; returns (actor_loss, vf_loss, entropy) 0-d and log_ratio (B,).

        The gradient comes from ``ppo_grad`` (hand-derived) where it applies, else from
        autograd of ``policy_loss`` + ``value_loss``; clipping is clip_grad_norm_'s
        formula on the one flat gradient, after the actor's part is zeroed where
        ``train_actor`` is off.
        """
        cfg = self.config
        if self.loss is not None:
            losses = self.loss.loss_and_grad(batch, cfg)
        else:
            losses = self._autograd_loss_and_grad(batch)
        grad = self.flat.grad
        assert grad is not None
        if not self.train_actor:
            grad[: self.actor_size].zero_()
        if cfg.max_grad_norm is not None:
            scale = (cfg.max_grad_norm / (grad.norm() + 1e-6)).clamp_(max=1.0)
            grad.mul_(scale)
        self.optim.step(None if self.train_actor else (CRITIC_PART,))
        return losses

    def _autograd_loss_and_grad(self, batch: Minibatch) -> tuple[torch.Tensor, ...]:
        """``ManualPPOLoss.loss_and_grad``'s contract, by autograd: fills the flat ``.grad``
        (whose per-parameter views autograd accumulates into, so it is zeroed first)."""
        cfg = self.config
        assert self.flat.grad is not None
        self.flat.grad.zero_()
        actor_loss, entropy, log_ratio = policy_loss_terms(
            self.actor, batch.obs, batch.actions, batch.old_log_probs, batch.advantages, cfg
        )
        vf_loss = value_loss(self.critic(batch.obs), batch.targets, batch.old_values, cfg)
        (actor_loss + cfg.vf_coef * vf_loss - cfg.ent_coef * entropy).backward()
        return actor_loss.detach(), vf_loss.detach(), entropy.detach(), log_ratio

    def state_dict(self) -> dict[str, object]:
        return {
            "optim": self.optim.state_dict(),
            "return_rms": self.return_rms.state_dict(),
            "reward_sums": torch.from_numpy(
                self.reward_sums if self.reward_sums is not None else np.zeros(0)
            ),
            "smoothed_loss": torch.tensor(
                float("nan") if self.smoothed_loss is None else self.smoothed_loss
            ),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.optim.load_state_dict(state["optim"])  # type: ignore[arg-type]
        self.return_rms.load_state_dict(state["return_rms"])  # type: ignore[arg-type]
        sums = state.get("reward_sums")  # absent in checkpoints before it existed
        self.reward_sums = sums.numpy().copy() if sums is not None and sums.numel() else None  # type: ignore[union-attr]
        smoothed = float(state["smoothed_loss"])  # type: ignore[arg-type]
        self.smoothed_loss = None if math.isnan(smoothed) else smoothed


def explained_variance(values: torch.Tensor, targets: torch.Tensor) -> float | None:
    """1 - Var(targets - values) / Var(targets) of (B,) tensors: 1 is a perfect critic,
    0 no better than a constant; None where the targets do not vary."""
    target_var = float(targets.var())
    if not target_var > 0:
        return None
    return 1.0 - float((targets - values).var()) / target_var


def policy_change(log_ratio: torch.Tensor, eps_clip: float) -> dict[str, float]:
    """approx_kl and clip_fraction over the log π/π_old (B,) of every minibatch sample.

    approx_kl is the unbiased, non-negative estimator E[(r - 1) - log r] of
    KL(π_old || π); clip_fraction the share of samples with |r - 1| > eps_clip.
    """
    ratio = log_ratio.exp()
    kl, clipped = torch.stack(
        [((ratio - 1) - log_ratio).mean(), ((ratio - 1).abs() > eps_clip).float().mean()]
    ).tolist()
    return {"approx_kl": kl, "clip_fraction": clipped}


def policy_loss(
    actor: Actor,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    cfg: PPOConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped surrogate loss (with optional dual clip) and mean entropy, both 0-d.

    Advantages (B,) are normalized per minibatch when advantage_normalization is on.
    """
    actor_loss, entropy, _ = policy_loss_terms(actor, obs, actions, old_log_probs, advantages, cfg)
    return actor_loss, entropy


def policy_loss_terms(
    actor: Actor,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    cfg: PPOConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``policy_loss``'s two terms and the detached log π/π_old (B,) of the samples."""
    if cfg.advantage_normalization and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
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


class PPOLearner:
    """PPO on the environment's own reward (gail-expert): the GAIL learner's counterpart."""

    def __init__(self, ppo: PPO, normalizer: ObservationNormalizer) -> None:
        self.ppo, self.normalizer = ppo, normalizer

    def set_lr_fraction(self, fraction: float) -> None:
        self.ppo.set_lr_fraction(fraction)

    def update(self, rollout: Rollout) -> dict[str, SummaryStats | float | int]:
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
