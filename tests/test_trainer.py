"""The training loop's schedule: learning-rate decay and the critic-only warm-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TINY
from hydra import compose, initialize_config_module

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.run.build import build_trainer
from gail_cli.run.logger import RunLogger


def test_the_schedule_reads_the_env_steps_before_each_rollout(
    tmp_path: Path, expert_file: Path
) -> None:
    """4 rollouts of 512 of a 2,048-step budget train at 1, 3/4, 1/2 and 1/4 of the lr,
    and critic_warmup_steps=1024 keeps the actor fixed for exactly the first 1,024."""
    overrides = [
        f"dataset.path={expert_file}",
        *TINY,
        "trainer.critic_warmup_steps=1024",
        "trainer.eval_in_background=false",
        "ppo.lr_decay=true",
        "discriminator.lr_decay=true",
    ]
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        cfg = compose("train", overrides)
    trainer, _ = build_trainer(cfg, tmp_path, imitation=True)
    agent, update = trainer.agent, trainer.agent.learner.update
    seen: list[tuple[float, float, bool]] = []

    def spy(rollout):  # type: ignore[no-untyped-def]
        disc_lr = agent.learner.disc_optim.param_groups[0]["lr"]  # type: ignore[attr-defined]
        seen.append((agent.ppo.optim.lr, disc_lr, not agent.ppo.critic_warmup))
        return update(rollout)

    agent.learner.update = spy  # type: ignore[method-assign]
    logger = RunLogger(tmp_path, 2048)
    try:
        trainer.run(logger)
    finally:
        logger.close()
        trainer.close()
    ppo_lr, disc_lr = cfg.ppo.lr, cfg.discriminator.lr
    fractions = [1.0, 0.75, 0.5, 0.25]
    assert [s[0] for s in seen] == pytest.approx([ppo_lr * f for f in fractions])
    assert [s[1] for s in seen] == pytest.approx([disc_lr * f for f in fractions])
    assert [s[2] for s in seen] == [False, False, True, True]
