"""device=auto: the faster device for the config's loop, and a line saying why."""

from __future__ import annotations

import pytest
import torch

from gail_cli.run import device as device_module
from gail_cli.run.device import LoopShape, choose_device, loop_shape, rollout_seconds
from gail_cli.settings import NetConfig, PolicyConfig, PPOConfig, TrainerConfig

SHAPE = LoopShape(
    obs_dim=17,
    act_dim=6,
    policy_hidden=(64, 64),
    critic_hidden=(64, 64),
    num_envs=8,
    steps_per_env=4,
    minibatch_size=64,
    minibatch_steps=3,
)


def test_the_shape_counts_minibatch_steps_per_rollout() -> None:
    trainer = TrainerConfig(num_envs=8, steps_per_collect=2048)
    shape = loop_shape(
        17, 6, PolicyConfig(hidden_sizes=[256, 256]), NetConfig(), trainer, PPOConfig()
    )
    assert (shape.steps_per_env, shape.minibatch_size) == (256, PPOConfig().batch_size)
    assert shape.minibatch_steps == PPOConfig().repeat_per_collect * 2048 // shape.minibatch_size
    assert shape.policy_hidden == (256, 256)


def test_without_cuda_auto_is_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    device, why = choose_device(SHAPE)
    assert device.type == "cpu" and why == "device=auto: cpu (no CUDA device)"


@pytest.mark.parametrize(("cpu_s", "cuda_s", "expected"), [(0.5, 2.0, "cpu"), (3.0, 1.0, "cuda")])
def test_with_cuda_auto_picks_the_faster_timing(
    monkeypatch: pytest.MonkeyPatch, cpu_s: float, cuda_s: float, expected: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.random, "fork_rng", lambda devices: _nothing())
    timings = {"cpu": cpu_s, "cuda": cuda_s}
    monkeypatch.setattr(device_module, "rollout_seconds", lambda shape, d: timings[d.type])
    device, why = choose_device(SHAPE)
    assert device.type == expected
    assert why.startswith(f"device=auto: {expected} (")
    assert f"{cpu_s:.2f} s on cpu, {cuda_s:.2f} s on cuda" in why


def test_the_cpu_probe_times_a_rollout() -> None:
    one = rollout_seconds(SHAPE, torch.device("cpu"))
    heavier = LoopShape(**{**SHAPE.__dict__, "minibatch_steps": 30})
    assert 0 < one < rollout_seconds(heavier, torch.device("cpu"))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
