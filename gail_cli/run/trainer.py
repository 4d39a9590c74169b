"""The training loop: collect -> learn -> log -> evaluate -> checkpoint.

The loop is the same for GAIL and for expert PPO; only the agent's learner differs
(the environment's reward reaches the learner only in the expert's case).
"""

from __future__ import annotations

import copy
import math
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from gail_cli.algo.agent import Agent
from gail_cli.algo.stats import SummaryStats, UpdateStats, normalized_return
from gail_cli.data.checkpoint import save_checkpoint
from gail_cli.errors import GailError, Interrupted
from gail_cli.run.env_state import from_saved, to_saved
from gail_cli.run.envs import Collector, EnvSpec
from gail_cli.run.evaluation import Evaluator
from gail_cli.run.logger import RunLogger
from gail_cli.settings import TrainerConfig
from gail_cli.timing import PhaseTimer


class TrainingDiverged(GailError):
    """A loss or parameter became NaN or infinite."""


@dataclass
class Progress:
    """Counters that a checkpoint carries across a resume."""

    env_steps: int = 0
    best_eval_return: float = -math.inf
    last_eval: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Runs one training to ``config.total_env_steps`` and writes its run directory."""

    def __init__(
        self,
        *,
        agent: Agent,
        config: TrainerConfig,
        spec: EnvSpec,
        envs: gym.vector.VectorEnv,
        evaluator: Evaluator,
        run_dir: Path,
        seed: int,
        device: torch.device,
        expert_return: float | None,
        checkpoint_meta: dict[str, Any],
        progress: Progress | None = None,
        random_return: float | None = None,
    ) -> None:
        self.agent, self.config, self.run_dir, self.evaluator = agent, config, run_dir, evaluator
        self.expert_return = expert_return
        self.random_return = random_return
        self.checkpoint_meta = checkpoint_meta
        self.progress = progress or Progress()
        self.collector = Collector(envs, spec, agent.actor, agent.normalizer, device, seed)
        self.checkpoint_dir = run_dir / "checkpoints"
        # cumulative wall seconds per phase of the loop (the benchmark's breakdown)
        self.timer = PhaseTimer()
        self.seconds = self.timer.seconds
        self._signal: int | None = None
        # agent states of the submitted evaluations, by env step, until their results
        self._snapshots: dict[int, dict[str, Any]] = {}
        # called with (env step, eval scalars) at each evaluation; True stops the run there
        # (an Optuna search's pruner); ``stopped_at`` is then that env step
        self.on_evaluation: Callable[[int, dict[str, float]], bool] | None = None
        self.stopped_at: int | None = None
        # a resumed run evaluates first the policy its checkpoint's evaluation had not
        # reported yet (the checkpoint of an evaluation is written when it is submitted)
        self._evaluation_pending = False
        # after a resume: whether the envs' episodes were restored (see ``restore``)
        self.resumed_exactly: bool | None = None
        # the device the run uses and why (device=auto's pick), for the run's first lines
        self.device_note = f"device={device.type}"

    # -- the loop -------------------------------------------------------------------
    def run(self, logger: RunLogger) -> dict[str, float]:
        """Train to the budget; returns the final metrics (also written to metrics.json)."""
        cfg, progress = self.config, self.progress
        start_steps, wall_start = progress.env_steps, time.perf_counter()
        next_eval = (progress.env_steps // cfg.eval_every + 1) * cfg.eval_every
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            if self._evaluation_pending:
                self._evaluation_pending = False
                self._submit_evaluation()
            while progress.env_steps < cfg.total_env_steps:
                iteration_start = time.perf_counter()
                self._iteration(logger)
                rate = cfg.steps_per_collect / (time.perf_counter() - iteration_start)
                logger.scalars({"time/env_steps_per_s": rate}, progress.env_steps)
                logger.advance(cfg.steps_per_collect, steps_per_s=f"{rate:.0f}")
                self._collect_evaluations(logger, block=False)
                evaluate = self.stopped_at is None and progress.env_steps >= next_eval
                if evaluate and progress.env_steps < cfg.total_env_steps:
                    snapshot = self._submit_evaluation()
                    self._write_checkpoint("last.pt", {**snapshot, "evaluation_pending": True})
                    next_eval += cfg.eval_every
                    self._collect_evaluations(logger, block=False)  # an inline one is done
                if self.stopped_at is not None:
                    break
                if self._signal is not None:
                    self._collect_evaluations(logger, block=True)
                    path = self._save("last.pt")
                    raise Interrupted(self._signal, path)
            if self.stopped_at is None:
                self._submit_evaluation()
            self._collect_evaluations(logger, block=True)
            self._save("last.pt")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        wall = time.perf_counter() - wall_start
        steps_done = progress.env_steps - start_steps
        metrics = {
            "env_steps": float(progress.env_steps),
            **progress.last_eval,
            "eval/best_return": progress.best_eval_return,
            "time/env_steps_per_s": steps_done / wall if wall > 0 else 0.0,
            "time/wall_s": wall,
        }
        if self.stopped_at is not None:
            metrics["pruned"] = True
        return metrics

    def _iteration(self, logger: RunLogger) -> None:
        """One rollout, one update of the learner, the update's figures logged."""
        agent, progress, timer = self.agent, self.progress, self.timer
        # the schedule reads the env steps before this rollout: the first update trains at
        # the full lr, the last one above 0, and critic_warmup_steps=N keeps the actor
        # fixed for the updates of the first N env steps
        steps_before = progress.env_steps
        with timer("collect"):
            rollout = self.collector.collect(self.config.steps_per_env)
        progress.env_steps += rollout.num_steps
        agent.normalizer.update(rollout.obs.flatten(0, 1).cpu().numpy())
        agent.learner.set_lr_fraction(1.0 - steps_before / self.config.total_env_steps)
        agent.learner.set_critic_warmup(steps_before < self.config.critic_warmup_steps)
        stats = agent.learner.update(rollout)
        timer.add(stats.timings())
        self._check_finite(stats)
        with timer("logging"):
            self._log_update(stats, logger)

    def _log_update(self, stats: UpdateStats, logger: RunLogger) -> None:
        """The learner's figures and the finished training episodes' returns."""
        step = self.progress.env_steps
        logger.training_stats(stats.train_scalars(), step)
        scalars = stats.rollout_scalars()
        returns, lengths = self.collector.drain_episodes()
        if returns:
            scalars["rollout/return"] = float(np.mean(returns))
            scalars["rollout/episode_length"] = float(np.mean(lengths))
            logger.postfix["train_ret"] = f"{np.mean(returns):.0f}"
        logger.scalars(scalars, step)
        logger.postfix.update(stats.progress_items())

    def _submit_evaluation(self) -> dict[str, Any]:
        """Hand the policy as it is now to the evaluator; returns (and keeps, for best.pt)
        the checkpoint payload of this moment."""
        step = self.progress.env_steps
        with self.timer("evaluation"):
            snapshot = self._snapshots[step] = self._checkpoint_payload()
            self.evaluator.submit(step, self.agent.actor, self.agent.normalizer)
        return snapshot

    def _collect_evaluations(self, logger: RunLogger, block: bool) -> None:
        """Log finished evaluations at the env step of their snapshot; save a new best.

        With ``block`` it waits for every outstanding one (the end of a run, a signal).
        """
        progress = self.progress
        with self.timer("evaluation"):
            results = self.evaluator.wait() if block else self.evaluator.poll()
        for step, returns in results:
            mean = float(returns.mean())
            scalars = {"eval/return": mean, "eval/return_std": float(returns.std())}
            if self.expert_return:
                scalars["eval/normalized_return"] = normalized_return(
                    mean, self.expert_return, self.random_return
                )
            logger.scalars(scalars, step)
            progress.last_eval = scalars
            logger.postfix["eval_ret"] = f"{mean:.0f}"
            logger.message(
                f"env step {step}: eval return {mean:.1f} +- {returns.std():.1f}"
                + (
                    f", normalized {scalars['eval/normalized_return']:.3f}"
                    if self.expert_return
                    else ""
                )
            )
            snapshot = self._snapshots.pop(step)
            if mean > progress.best_eval_return:
                progress.best_eval_return = mean
                snapshot.update(best_eval_return=mean, last_eval=scalars)
                self._write_checkpoint("best.pt", snapshot)
            if self.stopped_at is None and self.on_evaluation and self.on_evaluation(step, scalars):
                self.stopped_at = step
                logger.message(f"env step {step}: stopped here (the search pruned this trial)")

    def close(self) -> None:
        """Close the training and evaluation environments."""
        self.collector.envs.close()
        self.evaluator.close()

    # -- safety ---------------------------------------------------------------------
    def _check_finite(self, stats: UpdateStats) -> None:
        figures = {f"train/{name}": value for name, value in stats.train_scalars().items()}
        for tag, value in {**figures, **stats.rollout_scalars()}.items():
            figure = value.mean if isinstance(value, SummaryStats) else float(value)
            if not math.isfinite(figure):
                raise TrainingDiverged(
                    f"training diverged: {tag} is {figure} at env step "
                    f"{self.progress.env_steps}; the last good checkpoint is kept in "
                    f"{self.checkpoint_dir}; try a lower ppo.lr or discriminator.lr"
                )
        if not self.agent.parameters_finite():
            raise TrainingDiverged(
                f"training diverged: a network parameter is not finite at env step "
                f"{self.progress.env_steps}; the last good checkpoint is kept in "
                f"{self.checkpoint_dir}"
            )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._signal is not None:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self._signal = signum

    # -- files ----------------------------------------------------------------------
    def _checkpoint_payload(self) -> dict[str, Any]:
        """Everything a resume needs, as of now (tensors copied: the run goes on)."""
        return copy.deepcopy(
            {
                **self.checkpoint_meta,
                "env_steps": self.progress.env_steps,
                "best_eval_return": self.progress.best_eval_return,
                "last_eval": self.progress.last_eval,
                "agent": self.agent.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
                "numpy_rng": to_saved(np.random.get_state()),
                "python_rng": random.getstate(),
                "collector": self.collector.state_dict(),
            }
        )

    def restore(self, checkpoint: dict[str, Any]) -> bool:
        """Take up a checkpoint's episodes in progress, RNGs and pending evaluation (the
        agent and torch's RNG are restored where the agent is built).

        Returns True when the run continues exactly as it would have without the
        interruption (the envs' state was saved), False when episodes start afresh.
        """
        if "numpy_rng" in checkpoint:
            np.random.set_state(from_saved(checkpoint["numpy_rng"]))
            random.setstate(checkpoint["python_rng"])
        if checkpoint.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
        self._evaluation_pending = bool(checkpoint.get("evaluation_pending", False))
        collector = checkpoint.get("collector")
        if collector is None:
            return False
        self.collector.load_state_dict(collector)
        return True

    def _save(self, name: str) -> Path:
        return self._write_checkpoint(name, self._checkpoint_payload())

    def _write_checkpoint(self, name: str, payload: dict[str, Any]) -> Path:
        path = self.checkpoint_dir / name
        with self.timer("checkpoint"):
            save_checkpoint(path, payload)
        return path
