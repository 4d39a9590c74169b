"""GAIL = PPO on the discriminator's reward, plus the discriminator's own update.

The discriminator d(s, a) outputs an unbounded logit, positive for "expert". Its loss is
-log σ(d_expert) - log(1 - σ(d_policy)); the policy's reward is, by reward_form,
Tianshou's -log(1 - σ(d)) = softplus(d) ("gail"), the logit log σ(d) - log(1 - σ(d)) = d
("airl"), or log σ(d) = -softplus(-d) ("log_d"). Both sides are fed through the same
observation transform, and policy actions are clipped to the action bounds exactly as
the environment received them.

With ``absorbing`` (Kostrikov et al. 2019, "Discriminator-Actor-Critic"), a true
termination leads to an absorbing state that repeats forever, and a terminated step's
return bootstraps from that state's value r_abs / (1 - gamma) instead of 0. r_abs is the
reward of the discriminator's logit at the absorbing state. That state is one discrete
state, so its logit is set to the optimum of the discriminator's loss there,
log(p_expert / p_policy), where p is the fraction of each side's samples that are
absorbing: expert, one absorbing sample per kept episode that ended in a termination,
weighted 1/subsample against 1 per kept pair (so it is as frequent per pair as in the
full episodes); policy, one per terminated step of the rollouts (a running average).
A policy that ends episodes more often than the expert then gets r_abs below the
equilibrium reward, one that ends them less often gets it above: neither surviving nor
falling pays for itself. (Learned through the network as in DAC, with an indicator
input, the logit there drifted with the weights: absorbing samples are ~0.2 % of a
batch.) A time-limit truncation is not a termination and bootstraps from V(next_obs).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from gail_cli.algo.bc import CloneLoss
from gail_cli.algo.nets import Discriminator, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO, batched
from gail_cli.algo.records import Rollout
from gail_cli.algo.stats import DiscriminatorStats, GAILStats, summarize
from gail_cli.settings import DiscriminatorConfig
from gail_cli.timing import PhaseTimer

REWARD_FORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    # -log(1 - σ(d)) >= 0: never negative, so it favours long episodes
    "gail": F.softplus,
    # log σ(d) - log(1 - σ(d)) = d: keeps its scale when the discriminator saturates
    "airl": lambda logits: logits,
    # log σ(d) <= 0: never positive, so it favours short episodes
    "log_d": lambda logits: -F.softplus(-logits),
}


def discriminator_loss(d_expert: torch.Tensor, d_policy: torch.Tensor) -> torch.Tensor:
    """-log σ(d_expert) - log(1 - σ(d_policy)), each term a mean over its (B,) logits."""
    return F.softplus(-d_expert).mean() + F.softplus(d_policy).mean()


def policy_reward(logits: torch.Tensor, form: str = "gail") -> torch.Tensor:
    """The policy's reward for discriminator logits, computed stably; same shape."""
    return REWARD_FORMS[form](logits)


def accuracies(d_expert: torch.Tensor, d_policy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(acc_exp, acc_pi): fractions of expert logits > 0 and of policy logits < 0."""
    return (d_expert > 0).float().mean(), (d_policy < 0).float().mean()


def gradient_penalty(
    disc: Discriminator,
    expert_obs: torch.Tensor,
    expert_act: torch.Tensor,
    policy_obs: torch.Tensor,
    policy_act: torch.Tensor,
    target: float = 1.0,
) -> torch.Tensor:
    """Mean (||∇d(x̂)|| - target)² at random interpolates x̂ of expert and policy pairs (B, ·).

    target 1 is WGAN-GP's (it asks for slope 1 even where the two sides overlap, where a
    classifier's logit should be flat); target 0 penalizes any slope (a zero-centred
    penalty, as for the discriminator of a standard GAN), computed as the squared norm.
    """
    alpha = torch.rand(expert_obs.shape[0], 1, device=expert_obs.device)
    obs = (alpha * expert_obs + (1 - alpha) * policy_obs).requires_grad_(True)
    act = (alpha * expert_act + (1 - alpha) * policy_act).requires_grad_(True)
    logits = disc(obs, act)
    grads = torch.autograd.grad(logits.sum(), [obs, act], create_graph=True)
    squared_norm = torch.cat(grads, dim=-1).pow(2).sum(dim=-1)
    if target == 0:  # the norm's own gradient is undefined at 0
        return squared_norm.mean()
    return (squared_norm.sqrt() - target).pow(2).mean()


# floor of both absorbing fractions: with no terminations on either side the logit is 0
ABSORBING_FLOOR = 1e-4
# weight of the newest rollout in the running average of the policy's absorbing fraction
ABSORBING_AVERAGE = 0.1


def absorbing_logit(expert_fraction: float, policy_fraction: float) -> float:
    """The discriminator loss's optimum at the absorbing state: log(p_expert / p_policy).

    Fractions of each side's samples that are absorbing, each floored at ABSORBING_FLOOR.
    """
    floor = ABSORBING_FLOOR
    return math.log(max(expert_fraction, floor)) - math.log(max(policy_fraction, floor))


def absorbing_value(reward: float, gamma: float) -> float:
    """Discounted return of an absorbing state of per-step ``reward``, forever: r / (1 - γ)."""
    return reward / (1.0 - gamma)


def expert_absorbing_fraction(pairs: int, absorbing_episodes: int, weight: float) -> float:
    """Share of absorbing samples on the expert's side: one per kept episode that ended
    in a termination, each of ``weight`` (1 / subsample) against 1 per kept pair."""
    absorbing = absorbing_episodes * weight
    return absorbing / (pairs + absorbing)


DISC_STAT_NAMES = ("disc_loss", "acc_pi", "acc_exp", "disc_logit_expert", "disc_logit_policy")


def discriminator_step(
    disc: Discriminator,
    optimizer: torch.optim.Optimizer,
    config: DiscriminatorConfig,
    expert_obs: torch.Tensor,
    expert_act: torch.Tensor,
    policy_obs: torch.Tensor,
    policy_act: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """One optimizer step of the discriminator loss (plus its gradient penalty).

    Expert and policy pairs (B, obs_dim) normalized and (B, act_dim) bounded, equally
    many. Returns the 0-d detached figures named in DISC_STAT_NAMES.
    """
    d_expert, d_policy = disc(expert_obs, expert_act), disc(policy_obs, policy_act)
    loss = discriminator_loss(d_expert, d_policy)
    total = loss
    if config.grad_penalty > 0:
        penalty = gradient_penalty(
            disc, expert_obs, expert_act, policy_obs, policy_act, config.grad_penalty_target
        )
        total = loss + config.grad_penalty * penalty
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    acc_exp, acc_pi = accuracies(d_expert.detach(), d_policy.detach())
    figures = (loss, acc_pi, acc_exp, d_expert.mean(), d_policy.mean())
    return {name: value.detach() for name, value in zip(DISC_STAT_NAMES, figures, strict=True)}


class GAIL:
    """The GAIL learner: discriminator steps, then PPO on the discriminator's reward.

    expert_obs (M, obs_dim) raw and expert_actions (M, act_dim) bounded live on the
    learner's device; they are normalized with the shared transform at sampling time.
    With config.absorbing (see the module docstring), expert_absorbing is the number of
    kept expert episodes that ended in a termination, each an absorbing sample of weight
    absorbing_weight (1 / subsample) against 1 for each of the M pairs.
    """

    def __init__(
        self,
        ppo: PPO,
        disc: Discriminator,
        config: DiscriminatorConfig,
        normalizer: ObservationNormalizer,
        expert_obs: torch.Tensor,
        expert_actions: torch.Tensor,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        expert_absorbing: int = 0,
        absorbing_weight: float = 1.0,
        clone: CloneLoss | None = None,
    ) -> None:
        self.ppo, self.disc, self.config, self.normalizer = ppo, disc, config, normalizer
        self.expert_obs, self.expert_actions = expert_obs, expert_actions
        self.action_low, self.action_high = action_low, action_high
        self.disc_optim = torch.optim.Adam(disc.parameters(), lr=config.lr, fused=True)
        self.clone = clone  # a decaying behavioral-cloning term after each PPO update
        self.expert_absorbing_fraction = expert_absorbing_fraction(
            expert_obs.shape[0], expert_absorbing, absorbing_weight
        )
        self.policy_absorbing_fraction: float | None = None  # running average

    def set_lr_fraction(self, fraction: float) -> None:
        """PPO's schedule; the discriminator's lr decays linearly too when lr_decay is on."""
        self.ppo.set_lr_fraction(fraction)
        if self.clone is not None:
            self.clone.set_fraction(fraction)
        scale = max(fraction, 0.0) if self.config.lr_decay else 1.0
        for group in self.disc_optim.param_groups:
            group["lr"] = self.config.lr * scale

    def set_critic_warmup(self, active: bool) -> None:
        """While active, PPO trains the critic alone (the discriminator still learns)."""
        self.ppo.set_critic_warmup(active)

    def env_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Clip unbounded policy actions (..., act_dim) to the bounds the env applies."""
        return torch.max(torch.min(actions, self.action_high), self.action_low)

    def _policy_noise(self, actions: torch.Tensor) -> torch.Tensor:
        """Gaussian noise (B, act_dim) with the policy's current per-dimension std."""
        actor = self.ppo.actor
        assert isinstance(actor, GaussianActor), "expert action noise needs a Gaussian actor"
        with torch.no_grad():
            return actor.log_std.exp() * torch.randn_like(actions)

    def reward(self, obs: torch.Tensor, env_actions: torch.Tensor) -> torch.Tensor:
        """Discriminator reward for normalized obs (..., obs_dim), bounded actions."""
        lead = obs.shape[:-1]
        logits = batched(
            self.disc,
            obs.reshape(lead.numel(), -1),
            env_actions.reshape(lead.numel(), -1),
            max_batchsize=self.ppo.config.max_batchsize,
        )
        return policy_reward(logits, self.config.reward_form).view(lead)

    def absorbing_reward(self, terminations: int, steps: int) -> float:
        """Fold a rollout of ``steps`` env steps with ``terminations`` into the policy's
        absorbing fraction; returns r_abs, the reward of the absorbing state's logit."""
        fraction = terminations / (steps + terminations)
        average = self.policy_absorbing_fraction
        self.policy_absorbing_fraction = (
            fraction
            if average is None
            else (1 - ABSORBING_AVERAGE) * average + ABSORBING_AVERAGE * fraction
        )
        logit = absorbing_logit(self.expert_absorbing_fraction, self.policy_absorbing_fraction)
        return float(policy_reward(torch.tensor(logit), self.config.reward_form))

    def update_discriminator(
        self, policy_obs: torch.Tensor, policy_actions: torch.Tensor
    ) -> DiscriminatorStats:
        """disc_update_num steps, each on a slice of the rollout and as many expert pairs.

        policy_obs (B, obs_dim) normalized, policy_actions (B, act_dim) bounded.
        """
        cfg = self.config
        size = policy_obs.shape[0]
        slice_size = -(-size // cfg.disc_update_num)
        per_step: dict[str, list[torch.Tensor]] = {name: [] for name in DISC_STAT_NAMES}
        for idx in torch.randperm(size, device=policy_obs.device).split(slice_size):
            expert_idx = torch.randint(
                0, self.expert_obs.shape[0], (idx.numel(),), device=self.expert_obs.device
            )
            exp_obs = self.normalizer(self.expert_obs[expert_idx])
            exp_act = self.expert_actions[expert_idx]
            if cfg.expert_action_noise:
                exp_act = self.env_actions(exp_act + self._policy_noise(exp_act))
            figures = discriminator_step(
                self.disc,
                self.disc_optim,
                cfg,
                exp_obs,
                exp_act,
                policy_obs[idx],
                policy_actions[idx],
            )
            for name, value in figures.items():
                per_step[name].append(value)
        return DiscriminatorStats(**summarize(per_step))

    def update(self, rollout: Rollout) -> GAILStats:
        """Discriminator steps, then PPO with the updated discriminator's reward."""
        timer = PhaseTimer()
        with timer("disc_update"):
            obs = self.normalizer(rollout.obs)
            next_obs = self.normalizer(rollout.next_obs)
            env_actions = self.env_actions(rollout.actions)
            disc_stats = self.update_discriminator(obs.flatten(0, 1), env_actions.flatten(0, 1))
        with timer("ppo_update"):
            rewards = self.reward(obs, env_actions)
            absorbing_reward, terminal_value = None, 0.0
            if self.config.absorbing:
                terminations = int(rollout.terminated.sum())
                absorbing_reward = self.absorbing_reward(terminations, rollout.num_steps)
                terminal_value = absorbing_value(absorbing_reward, self.ppo.config.gamma)
            ppo_stats = self.ppo.update(
                obs,
                next_obs,
                rollout.actions,
                rewards,
                rollout.terminated,
                rollout.truncated,
                terminal_value=terminal_value,
            )
            bc_loss = None
            if self.clone is not None and not self.ppo.critic_warmup:
                bc_loss = self.clone.step()
        return GAILStats(
            ppo=ppo_stats,
            discriminator=disc_stats,
            disc_reward=float(rewards.mean()),
            disc_time=timer.seconds["disc_update"],
            train_time=timer.total,
            absorbing_reward=absorbing_reward,
            bc_loss=bc_loss,
        )

    def state_dict(self) -> dict[str, object]:
        state: dict[str, object] = {
            "disc_optim": self.disc_optim.state_dict(),
            "policy_absorbing_fraction": self.policy_absorbing_fraction,
        }
        if self.clone is not None:
            state["clone"] = self.clone.state_dict()
        return state

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.disc_optim.load_state_dict(state["disc_optim"])  # type: ignore[arg-type]
        self.policy_absorbing_fraction = state.get("policy_absorbing_fraction")  # type: ignore[assignment]
        if self.clone is not None and "clone" in state:
            self.clone.load_state_dict(state["clone"])  # type: ignore[arg-type]
