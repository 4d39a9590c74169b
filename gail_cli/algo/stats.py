"""Training statistics: summaries of per-step figures (Tianshou's SequenceSummaryStats)
and the typed records a learner hands the training loop after each update.

A record knows its own figures; the loop asks it for what to log and show
(:class:`UpdateStats`) and names none of them itself. Every figure of a record is
logged as ``train/<name>`` (a :class:`SummaryStats` also as ``train/<name>_std``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Protocol

import torch


@dataclass(frozen=True)
class SummaryStats:
    """Mean, std (population), min, max and count of a sequence of scalars."""

    mean: float
    std: float
    min: float
    max: float
    count: int

    @classmethod
    def of(cls, values: torch.Tensor) -> SummaryStats:
        """Summarize a 1-D tensor; one host sync for all five figures."""
        values = values.detach().double().flatten()
        if values.numel() == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, 0)
        mean, std, lo, hi = torch.stack(
            [values.mean(), values.std(unbiased=False), values.min(), values.max()]
        ).tolist()
        return cls(mean, std, lo, hi, int(values.numel()))


def normalized_return(
    mean_return: float, expert_return: float, random_return: float | None = None
) -> float:
    """A return as a fraction of the expert's: R / R_expert, or, where the env states the
    return of uniformly random actions (``env.random_return``, for envs whose returns
    can be negative), (R - R_random) / (R_expert - R_random). 1 = the expert."""
    if random_return is None:
        return mean_return / expert_return
    return (mean_return - random_return) / (expert_return - random_return)


def expert_from_normalized(
    mean_return: float, normalized: float, random_return: float | None = None
) -> float:
    """The expert return that :func:`normalized_return` divided by (its inverse in R_expert)."""
    if random_return is None:
        return mean_return / normalized
    return random_return + (mean_return - random_return) / normalized


Scalar = SummaryStats | float


def summarize(per_step: Mapping[str, list[torch.Tensor]]) -> dict[str, SummaryStats]:
    """Each figure's 0-d values over the steps of one update, as mean/std records."""
    return {name: SummaryStats.of(torch.stack(values)) for name, values in per_step.items()}


def _figures(record: object) -> dict[str, Scalar]:
    """A record's fields that are set, by name (None: not measured in this update)."""
    values = {field.name: getattr(record, field.name) for field in fields(record)}  # type: ignore[arg-type]
    return {name: value for name, value in values.items() if value is not None}


class UpdateStats(Protocol):
    """What the training loop reads from a learner's statistics of one update."""

    def train_scalars(self) -> dict[str, Scalar]:
        """Figures logged as train/<name>."""
        ...

    def rollout_scalars(self) -> dict[str, float]:
        """Figures of the rollout itself, by full tag (e.g. rollout/disc_reward)."""
        ...

    def progress_items(self) -> dict[str, str]:
        """Short items for the progress bar."""
        ...

    def timings(self) -> dict[str, float]:
        """Wall seconds of the update by phase (the loop's time breakdown)."""
        ...


@dataclass(frozen=True)
class PPOStats:
    """One PPO update: Tianshou's PPO training statistics and the diagnostics.

    loss = actor_loss + vf_coef * vf_loss - ent_coef * ent_loss, each summarized over
    the update's minibatch steps (ent_loss is the policy's entropy); smoothed_loss is an
    exponential average of loss's mean over updates (weight 0.1 for the newest);
    approx_kl and clip_fraction are over every minibatch sample of every step;
    explained_variance is the critic's before the update (None where the targets do not
    vary); entropy is ent_loss's mean, in nats; action_std is the Gaussian actor's mean
    std in action units (None for the categorical actor); train_time in seconds.
    """

    loss: SummaryStats
    actor_loss: SummaryStats
    vf_loss: SummaryStats
    ent_loss: SummaryStats
    smoothed_loss: float
    gradient_steps: int
    approx_kl: float
    clip_fraction: float
    explained_variance: float | None
    entropy: float
    action_std: float | None
    train_time: float

    def train_scalars(self) -> dict[str, Scalar]:
        return _figures(self)

    def rollout_scalars(self) -> dict[str, float]:
        return {}

    def progress_items(self) -> dict[str, str]:
        return {}

    def timings(self) -> dict[str, float]:
        return {"ppo_update": self.train_time}


@dataclass(frozen=True)
class DiscriminatorStats:
    """The discriminator steps of one update, each figure summarized over the steps:
    its loss, acc_pi / acc_exp (fractions of policy logits < 0 and expert logits > 0)
    and the mean logits on each side."""

    disc_loss: SummaryStats
    acc_pi: SummaryStats
    acc_exp: SummaryStats
    disc_logit_expert: SummaryStats
    disc_logit_policy: SummaryStats


@dataclass(frozen=True)
class GAILStats:
    """One GAIL update: the discriminator's statistics, then PPO's on its reward.

    disc_reward is the mean reward the policy got (reward units); disc_time the seconds
    of the discriminator part, train_time those of the whole update (Tianshou's
    train_time); absorbing_reward the absorbing state's reward (None without absorbing
    states); bc_loss the decaying cloning term's loss (None without it).
    """

    ppo: PPOStats
    discriminator: DiscriminatorStats
    disc_reward: float
    disc_time: float
    train_time: float
    absorbing_reward: float | None = None
    bc_loss: float | None = None

    def train_scalars(self) -> dict[str, Scalar]:
        own = _figures(self)
        for nested in ("ppo", "discriminator", "disc_reward"):
            own.pop(nested)
        return {**self.ppo.train_scalars(), **_figures(self.discriminator), **own}

    def rollout_scalars(self) -> dict[str, float]:
        return {"rollout/disc_reward": self.disc_reward}

    def progress_items(self) -> dict[str, str]:
        accuracy = (self.discriminator.acc_exp.mean + self.discriminator.acc_pi.mean) / 2
        return {"disc_acc": f"{accuracy:.2f}"}

    def timings(self) -> dict[str, float]:
        return {"disc_update": self.disc_time, "ppo_update": self.train_time - self.disc_time}


@dataclass(frozen=True)
class OffPolicyStats:
    """The gradient updates of one off-policy iteration (many env steps, one update per
    env step and ``updates_per_step``): each learner figure summarized over the updates
    (critic_loss, actor_loss, alpha, entropy, q_values; with DAC also the discriminator's
    figures), the number of updates, the mean reward the discriminator gave the sampled
    batches (None for SAC on the env's reward), and wall seconds by phase."""

    figures: dict[str, SummaryStats]
    gradient_steps: int
    disc_reward: float | None
    seconds: dict[str, float]

    def train_scalars(self) -> dict[str, Scalar]:
        if not self.gradient_steps:
            return {}
        return {**self.figures, "gradient_steps": float(self.gradient_steps)}

    def rollout_scalars(self) -> dict[str, float]:
        return {} if self.disc_reward is None else {"rollout/disc_reward": self.disc_reward}

    def progress_items(self) -> dict[str, str]:
        items: dict[str, str] = {}
        if "acc_exp" in self.figures and "acc_pi" in self.figures:
            accuracy = (self.figures["acc_exp"].mean + self.figures["acc_pi"].mean) / 2
            items["disc_acc"] = f"{accuracy:.2f}"
        if "alpha" in self.figures:
            items["alpha"] = f"{self.figures['alpha'].mean:.3f}"
        return items

    def timings(self) -> dict[str, float]:
        return dict(self.seconds)
