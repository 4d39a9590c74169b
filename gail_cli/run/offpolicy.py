"""The off-policy loop (``algorithm=dac`` in gail-train, ``algorithm=sac`` in gail-expert).

It is :class:`~gail_cli.run.trainer.Trainer` with another iteration: evaluation,
checkpoints (which here hold the replay buffer too), signals, the NaN guard, the bar and
metrics.json are the same. One iteration runs to the next multiple of
``trainer.steps_per_collect`` env steps (a signal ends it at once), one vector step at
a time: each step's transitions go to the replay buffer, then,
once ``algorithm.learning_starts`` env steps are in, ``updates_per_step`` gradient
updates per env step. Statistics are summarized per iteration, like PPO's per rollout.
Checkpoints hold the episodes in progress as the loop's do, so ``resume=`` continues
exactly.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch

from gail_cli.algo.dac import DAC, OffPolicyAgent, OffPolicyLearner, SACLearner
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.replay import ReplayBuffer, Transitions
from gail_cli.algo.sac import SAC, SACConfig, SquashedGaussianActor, TwinQ
from gail_cli.algo.stats import OffPolicyStats, summarize
from gail_cli.data.experts import ExpertData
from gail_cli.errors import GailError
from gail_cli.run.adversary import ExpertTensors, build_discriminator, fit_normalizer
from gail_cli.run.envs import EnvSpec
from gail_cli.run.logger import RunLogger
from gail_cli.run.trainer import Trainer
from gail_cli.settings import DiscriminatorConfig, NetConfig
from gail_cli.timing import PhaseTimer


def build_offpolicy_agent(
    algorithm: SACConfig,
    policy: NetConfig,
    critic: NetConfig,
    discriminator: DiscriminatorConfig | None,
    obs_normalization: str,
    spec: EnvSpec,
    device: torch.device,
    expert: ExpertData | None,
) -> OffPolicyAgent:
    """Actor, twin critics, buffer and learner: DAC with expert data, else SAC on the
    env's reward. Discrete actions are refused (SAC's squashed Gaussian needs a Box)."""
    if spec.discrete:
        raise GailError(
            f"algorithm={algorithm.name} needs a Box action space and env.id={spec.env_id} "
            "has discrete actions; use algorithm=ppo for it"
        )
    obs_dim, act_dim = spec.obs_dim, spec.act_dim
    actor = SquashedGaussianActor(
        obs_dim, act_dim, policy.hidden_sizes, policy.activation, spec.action_low, spec.action_high
    ).to(device)
    twin_q = TwinQ(obs_dim, act_dim, critic.hidden_sizes, critic.activation).to(device)
    normalizer = ObservationNormalizer(obs_dim, obs_normalization)
    buffer = ReplayBuffer(algorithm.buffer_size, obs_dim, act_dim, device)
    sac = SAC(actor, twin_q, algorithm, act_dim)
    fit_normalizer(normalizer, expert)
    if expert is None:
        return OffPolicyAgent(actor, twin_q, normalizer, SACLearner(sac, normalizer), buffer)
    assert discriminator is not None
    disc = build_discriminator(obs_dim, act_dim, discriminator, device)
    demos = ExpertTensors.of(expert, device)
    learner = DAC(
        sac,
        disc,
        discriminator,
        normalizer,
        expert_obs=demos.observations,
        expert_actions=demos.actions,
        expert_absorbing=demos.absorbing,
        absorbing_weight=demos.absorbing_weight,
    )
    return OffPolicyAgent(actor, twin_q, normalizer, learner, buffer, disc)


class OffPolicyTrainer(Trainer):
    """The loop of :class:`Trainer` with the off-policy iteration (module docstring)."""

    def __init__(self, *, algorithm: SACConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.algorithm = algorithm

    def _iteration(self, logger: RunLogger) -> None:
        agent: OffPolicyAgent = self.agent  # type: ignore[assignment]
        learner: OffPolicyLearner = agent.learner
        progress, algorithm = self.progress, self.algorithm
        timer = PhaseTimer()
        per_update: defaultdict[str, list[torch.Tensor]] = defaultdict(list)
        updates = 0
        # up to the next multiple of steps_per_collect (realigns a run resumed after a
        # signal), and not past the budget
        chunk = self.config.steps_per_collect
        end = min((progress.env_steps // chunk + 1) * chunk, self.config.total_env_steps)
        while progress.env_steps < end:
            if self._signal is not None:  # Ctrl-C / SIGTERM: save now, not at the chunk's end
                break
            with timer("collect"):
                step = self.collector.collect(1)  # one vector step: (1, N, ...)
                progress.env_steps += step.num_steps
                agent.normalizer.update(step.obs[0].cpu().numpy())
                agent.buffer.add(
                    Transitions(
                        step.obs[0],
                        step.actions[0],
                        step.env_rewards[0],
                        step.next_obs[0],
                        step.terminated[0],
                    )
                )
            if progress.env_steps >= algorithm.learning_starts:
                with timer("update"):
                    for _ in range(step.num_steps * algorithm.updates_per_step):
                        for name, value in learner.update(agent.buffer).items():
                            per_update[name].append(value)
                        updates += 1
        figures = summarize(per_update) if updates else {}
        disc_reward = figures.pop("disc_reward", None)
        stats = OffPolicyStats(
            figures=figures,
            gradient_steps=updates,
            disc_reward=None if disc_reward is None else disc_reward.mean,
            seconds=dict(timer.seconds),
        )
        self.timer.add(stats.timings())
        self._check_finite(stats)
        with self.timer("logging"):
            self._log_update(stats, logger)
