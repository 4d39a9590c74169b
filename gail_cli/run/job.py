"""One gail-train or gail-expert run: build (or resume), warm-start, train, report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gail_cli.algo.bc import warm_start
from gail_cli.data.atomic import write_json_atomic
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.errors import GailError
from gail_cli.run.build import build_trainer
from gail_cli.run.env_tuning import drop_foreign_tuning, env_options, group_file, overridden_keys
from gail_cli.run.logger import RunLogger, announce
from gail_cli.run.resume import (
    check_mode,
    finished_metrics,
    interrupted_checkpoint,
    resumed_config,
)
from gail_cli.run.trial import StudyTrial, evaluation_score


def flatten_config(cfg: DictConfig) -> dict[str, Any]:
    """Resolved config as {'ppo.lr': 3e-4, ...} for TensorBoard's hparams plugin."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            out[prefix[:-1]] = node

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def tensorboard_logdir(run_dir: Path) -> Path:
    """The folder to point TensorBoard at: the top folder of a run inside the current
    folder (``outputs``, ``multirun``), which shows it beside every other run; else the
    run's parent."""
    try:
        return Path(run_dir.resolve().relative_to(Path.cwd().resolve()).parts[0])
    except (ValueError, IndexError):
        return run_dir.parent


def check_default_expert_file(
    cfg: DictConfig, choices: dict[str, Any], overrides: list[str]
) -> None:
    """Refuse ``env.id=<id>`` alone, which would train on the env option's expert file.

    ``env.id=Hopper-v4`` keeps the HalfCheetah-v4 option and its shipped file; name the
    option (``env=Hopper-v4``) or the expert data (``dataset.path=``) instead.
    """
    option = choices.get("env")
    option_id = OmegaConf.select(group_file("env", option), "env.id") if option else None
    given = overridden_keys(overrides)
    if option_id is None or cfg.env.id == option_id:
        return
    if given & {"dataset.path", "dataset.minari_id"}:
        return
    if cfg.env.id in env_options():
        fix = f"use env={cfg.env.id} (the env option, with its expert file and settings)"
    else:
        fix = f"pass dataset.path=<expert file of {cfg.env.id}>"
    raise GailError(
        f"env.id={cfg.env.id} would train on the env option's expert file ({option}); {fix}"
    )


def sweep_value(metrics: dict[str, Any], imitation: bool) -> float:
    """The figure a sweeper ranks a job by: the eval normalized return for GAIL (its eval
    return without an expert return), the eval return for an expert."""
    key = "eval/normalized_return" if imitation else "eval/return"
    return float(metrics.get(key, metrics.get("eval/return", float("nan"))))


def open_trial() -> StudyTrial | None:
    """The Optuna trial this job runs for a search, or None; one-line error if unreachable."""
    try:
        return StudyTrial.from_environment()
    except Exception as exc:
        raise GailError(f"cannot reach this job's Optuna trial: {exc}") from None


def run_training(cfg: DictConfig, imitation: bool) -> float:
    """Build and run one training; returns the figure a sweeper should maximize.

    That is the final eval normalized return for GAIL and the eval return for an expert.
    A fresh GAIL run with trainer.bc_init_steps > 0 first clones the expert.

    A sweep job whose folder holds a finished run (metrics.json) returns its figure
    without training again; one whose folder holds ``checkpoints/last.pt`` resumes from it.
    So a sweep cut short finishes when its command runs again on its sweep folder.
    """
    hydra = HydraConfig.get()
    run_dir = Path(hydra.runtime.output_dir)
    checkpoint = None
    untuned: list[str] = []
    resume = cfg.get("resume")
    if hydra.mode == RunMode.MULTIRUN and not resume:
        finished = finished_metrics(run_dir)
        if finished is not None:
            print(f"{run_dir}: finished before (metrics.json); not run again", flush=True)
            return sweep_value(finished, imitation)
        resume = interrupted_checkpoint(run_dir)
    if resume:
        checkpoint = load_checkpoint(str(resume))
        check_mode(checkpoint, str(resume), imitation)
        run_dir = Path(checkpoint["run_dir"])
        # a sweep job resuming its own checkpoint keeps the checkpoint's config as it is
        overrides = list(hydra.overrides.task) if cfg.get("resume") else []
        cfg = resumed_config(checkpoint, overrides)
    else:
        choices = dict(hydra.runtime.choices)
        untuned = drop_foreign_tuning(cfg, choices, list(hydra.overrides.task))
        if imitation:
            check_default_expert_file(cfg, choices, list(hydra.overrides.task))
    trial = open_trial()
    trainer, expert = build_trainer(cfg, run_dir, imitation, checkpoint)
    announce(f"run dir: {run_dir} (watch: tensorboard --logdir {tensorboard_logdir(run_dir)})")
    if trial is not None:
        trainer.on_evaluation = lambda step, scalars: _report(trial, step, scalars)
    progress = trainer.progress
    logger = RunLogger(run_dir, trainer.config.total_env_steps, progress.env_steps)
    logger.message(trainer.device_note)
    if checkpoint is not None:
        origin = "this sweep job " if not cfg.get("resume") else ""
        restored = (
            "envs, episodes in progress and RNGs restored: it goes on as if never stopped"
            if trainer.resumed_exactly
            else "this env's state is not saved in checkpoints: its episodes start afresh"
        )
        logger.message(
            f"resuming {origin}from {resume} at env step {progress.env_steps} ({restored})"
        )
    if untuned:
        logger.message(
            f"env.id={cfg.env.id} is not the env option's env ({choices['env']}): its tuned "
            f"settings are left at the generic defaults ({', '.join(untuned)})"
        )
    if expert is not None:
        logger.message(
            f"expert: {expert.path} ({expert.num_episodes} episodes, "
            f"{expert.num_transitions} transitions, mean return {expert.mean_return:.1f})"
        )
        if checkpoint is None and trainer.config.bc_init_steps:
            logger.message(
                warm_start(
                    trainer.agent, expert.observations, expert.actions, trainer.config.bc_init_steps
                )
            )
    try:
        if checkpoint is None:
            logger.text("config", f"```\n{OmegaConf.to_yaml(cfg, resolve=True)}\n```")
        metrics = trainer.run(logger)
        logger.hparams(flatten_config(cfg), metrics)
    finally:
        logger.close()
        trainer.close()
    write_json_atomic(run_dir / "metrics.json", metrics)
    if trial is not None and metrics.get("pruned"):
        trial.prune()
    logger.message(
        f"{'pruned' if metrics.get('pruned') else 'done'}: {int(metrics['env_steps'])} env "
        f"steps, eval return {metrics.get('eval/return', float('nan')):.1f}, run dir {run_dir}"
    )
    value = sweep_value(metrics, imitation)
    if not math.isfinite(value):  # a sweeper (Optuna) cannot rank it: report a failure
        key = "eval/normalized_return" if imitation else "eval/return"
        raise GailError(f"the final {key} is {value}; see {run_dir} (training diverged?)")
    return value


def _report(trial: StudyTrial, step: int, scalars: dict[str, float]) -> bool:
    score = evaluation_score(scalars)
    return score is not None and math.isfinite(score) and trial.report(step, score)
