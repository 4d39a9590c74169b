"""The off-policy loop (``algorithm=dac`` in gail-train, ``algorithm=sac`` in gail-expert).

It is :class:`~gail_cli.run.trainer.Trainer` with another iteration: evaluation,
checkpoints (which here hold the replay buffer too), signals, the NaN guard, the bar and
metrics.json are the same. One iteration runs to the next multiple of
``trainer.steps_per_collect`` env steps (a signal ends it at once), one vector step at
a time: each step's transitions go to the replay buffer, then,
once ``algorithm.learning_starts`` env steps are in, ``updates_per_step`` gradient
updates per env step. Statistics are summarized per iteration, like PPO's per rollout.
A checkpoint also holds the episodes in progress, so ``resume=`` continues exactly.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch

from gail_cli.algo.dac import DAC, OffPolicyAgent, OffPolicyLearner, SACLearner
from gail_cli.algo.nets import Discriminator
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.replay import ReplayBuffer, Transitions
from gail_cli.algo.sac import SAC, SACConfig, SquashedGaussianActor, TwinQ
from gail_cli.algo.stats import SummaryStats, summarize
from gail_cli.data.experts import ExpertData
from gail_cli.errors import GailError
from gail_cli.run.env_state import restore_vector_env_state, vector_env_state
from gail_cli.run.envs import EnvSpec
from gail_cli.run.logger import RunLogger
from gail_cli.run.trainer import Trainer
from gail_cli.settings import DiscriminatorConfig, NetConfig


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
    if expert is None:
        if normalizer.mode == "expert":
            raise GailError(
                "trainer.obs_normalization=expert needs expert data; use running or off"
            )
        return OffPolicyAgent(actor, twin_q, normalizer, SACLearner(sac, normalizer), buffer)
    assert discriminator is not None
    if normalizer.mode == "expert":
        normalizer.fit(expert.observations)
    disc = Discriminator(
        obs_dim,
        act_dim,
        discriminator.hidden_sizes,
        discriminator.activation,
        discriminator.spectral_norm,
    ).to(device)
    learner = DAC(
        sac,
        disc,
        discriminator,
        normalizer,
        expert_obs=torch.from_numpy(expert.observations).to(device),
        expert_actions=torch.from_numpy(expert.actions).to(device),
        expert_absorbing=int(expert.terminals.sum()),  # kept episodes ended by termination
        absorbing_weight=1.0 / (expert.subsample or 1),
    )
    return OffPolicyAgent(actor, twin_q, normalizer, learner, buffer, disc)


class OffPolicyTrainer(Trainer):
    """The loop of :class:`Trainer` with the off-policy iteration (module docstring)."""

    def __init__(
        self,
        *,
        algorithm: SACConfig,
        collector_state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.algorithm = algorithm
        if collector_state is not None:
            self._restore_collector(collector_state)

    def _checkpoint_payload(self) -> dict[str, Any]:
        """The loop's payload plus the episodes in progress, so that a resume goes on
        with them (see :mod:`gail_cli.run.env_state`)."""
        payload = super()._checkpoint_payload()
        envs = vector_env_state(self.collector.envs)
        if envs is not None:
            collector = self.collector
            payload["collector"] = {
                "obs": torch.from_numpy(np.array(collector.obs, dtype=np.float32)),
                "running_returns": collector.running_returns.tolist(),
                "running_lengths": collector.running_lengths.tolist(),
                "envs": envs,
            }
        return payload

    def _restore_collector(self, state: dict[str, Any]) -> None:
        collector = self.collector
        restore_vector_env_state(collector.envs, state["envs"])
        collector.obs = state["obs"].numpy()
        collector.running_returns = np.array(state["running_returns"], dtype=np.float64)
        collector.running_lengths = np.array(state["running_lengths"], dtype=np.int64)

    def _iteration(self, logger: RunLogger) -> None:
        agent: OffPolicyAgent = self.agent  # type: ignore[assignment]
        learner: OffPolicyLearner = agent.learner
        progress, seconds, algorithm = self.progress, self.seconds, self.algorithm
        per_update: defaultdict[str, list[torch.Tensor]] = defaultdict(list)
        updates = 0
        # up to the next multiple of steps_per_collect (realigns a run resumed after a
        # signal), and not past the budget
        chunk = self.config.steps_per_collect
        end = min((progress.env_steps // chunk + 1) * chunk, self.config.total_env_steps)
        while progress.env_steps < end:
            if self._signal is not None:  # Ctrl-C / SIGTERM: save now, not at the chunk's end
                break
            tick = time.perf_counter()
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
            tock = time.perf_counter()
            seconds["collect"] += tock - tick
            if progress.env_steps >= algorithm.learning_starts:
                for _ in range(step.num_steps * algorithm.updates_per_step):
                    for name, value in learner.update(agent.buffer).items():
                        per_update[name].append(value)
                    updates += 1
            seconds["update"] += time.perf_counter() - tock
        tick = time.perf_counter()
        self._log_iteration(logger, per_update, updates)
        seconds["logging"] += time.perf_counter() - tick

    def _log_iteration(
        self, logger: RunLogger, per_update: dict[str, list[torch.Tensor]], updates: int
    ) -> None:
        """Summaries of the iteration's updates under train/, the rollout figures."""
        step = self.progress.env_steps
        rollout: dict[str, float] = {}
        stats: dict[str, SummaryStats | float | int] = {}
        if updates:
            summaries = summarize(per_update)
            disc_reward = summaries.pop("disc_reward", None)
            if disc_reward is not None:
                rollout["rollout/disc_reward"] = disc_reward.mean
            stats = {**summaries, "gradient_steps": updates}
            self._check_finite(stats)
            logger.training_stats(stats, step)
        returns, lengths = self.collector.drain_episodes()
        if returns:
            rollout["rollout/return"] = float(np.mean(returns))
            rollout["rollout/episode_length"] = float(np.mean(lengths))
            logger.postfix["train_ret"] = f"{np.mean(returns):.0f}"
        logger.scalars(rollout, step)
        if isinstance(stats.get("acc_exp"), SummaryStats):
            acc = (stats["acc_exp"].mean + stats["acc_pi"].mean) / 2  # type: ignore[union-attr]
            logger.postfix["disc_acc"] = f"{acc:.2f}"
        if isinstance(stats.get("alpha"), SummaryStats):
            logger.postfix["alpha"] = f"{stats['alpha'].mean:.3f}"  # type: ignore[union-attr]
