"""A run resumed from any checkpoint ends with the same figures as the run never stopped."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
import torch
from conftest import TINY
from hydra import compose, initialize_config_module
from omegaconf import DictConfig, OmegaConf

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.errors import Interrupted
from gail_cli.run.build import build_trainer
from gail_cli.run.logger import RunLogger
from gail_cli.run.trainer import Trainer

STOP_AT = 1024  # env step of the evaluation where runs are cut
# 2 envs, 512-step rollouts, an evaluation (and a last.pt) every 512 env steps; at 2048
# env steps each env has passed HalfCheetah's 1000-step time limit once
RUN = [
    *TINY,
    "trainer.eval_every=512",
    "trainer.bc_init_steps=0",
    "trainer.eval_in_background=false",
    "trainer.eval_episodes=1",
    # small networks: the envs' and RNGs' state is what is under test
    "policy.hidden_sizes=[32,32]",
    "critic.hidden_sizes=[32,32]",
    "discriminator.hidden_sizes=[32,32]",
    "discriminator.disc_update_num=2",
]


def _config(overrides: list[str]) -> DictConfig:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        return compose("train", overrides=[*RUN, *overrides])


def _train(
    cfg: DictConfig, run_dir: Path, checkpoint: dict | None = None, hook=None
) -> dict[str, float]:
    trainer: Trainer
    trainer, _ = build_trainer(cfg, run_dir, imitation=True, checkpoint=checkpoint)
    if checkpoint is not None:
        assert trainer.resumed_exactly
    trainer.on_evaluation = hook
    logger = RunLogger(run_dir, trainer.config.total_env_steps, trainer.progress.env_steps)
    try:
        return trainer.run(logger)
    finally:
        logger.close()
        trainer.close()


def _figures(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if not k.startswith("time/")}


def _same_final_agent(a: Path, b: Path) -> bool:
    """The networks of two runs' final checkpoints are equal, weight for weight."""
    first, second = (load_checkpoint(run / "checkpoints" / "last.pt")["agent"] for run in (a, b))
    names = ("actor", "critic", "discriminator")
    return all(
        torch.equal(first[name][key], second[name][key]) for name in names for key in first[name]
    )


def _resume(run_dir: Path, checkpoint: Path) -> dict[str, float]:
    saved = load_checkpoint(checkpoint)
    cfg = OmegaConf.create(saved["config"])
    return _train(cfg, run_dir, saved)


@pytest.mark.parametrize("env", ["HalfCheetah-v4", "CartPole-v1"])
def test_a_resumed_run_ends_with_the_uninterrupted_runs_figures(
    tmp_path: Path, expert_file: Path, env: str
) -> None:
    overrides = [f"env={env}"] + ([f"dataset.path={expert_file}"] if env.startswith("Half") else [])
    cfg = _config(overrides)
    killed = tmp_path / "killed.pt"

    def copy_the_evaluation_checkpoint(step: int, scalars: dict[str, float]) -> bool:
        if step == STOP_AT:  # the last.pt a kill -9 right after this evaluation leaves
            shutil.copy(tmp_path / "whole" / "checkpoints" / "last.pt", killed)
        return False

    whole = _figures(_train(cfg, tmp_path / "whole", hook=copy_the_evaluation_checkpoint))
    assert whole["env_steps"] == 2048 and killed.is_file()
    # kill -9 after the evaluation at STOP_AT: resume from the checkpoint it wrote
    assert _figures(_resume(tmp_path / "after_kill", killed)) == whole
    assert _same_final_agent(tmp_path / "whole", tmp_path / "after_kill")

    # Ctrl-C (SIGINT) during the run: the trainer saves last.pt where it stops
    def interrupt(step: int, scalars: dict[str, float]) -> bool:
        if step == STOP_AT:
            os.kill(os.getpid(), signal.SIGINT)
        return False

    cut = tmp_path / "ctrl_c"
    with pytest.raises(Interrupted):
        _train(_config(overrides), cut, hook=interrupt)
    assert _figures(_resume(cut, cut / "checkpoints" / "last.pt")) == whole
    assert _same_final_agent(tmp_path / "whole", cut)
