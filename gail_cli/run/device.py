"""``device=auto``: the device that runs this config's loop faster, timed at start.

The networks of these configs are small (64x64 to 256x256 MLPs, minibatches of 64 to a
few thousand rows), where a GPU can be slower than one CPU core: each minibatch step is a
few dozen tiny kernels whose launch cost exceeds their arithmetic. On an H100 host the
reference config (64x64 nets, minibatches of 64) ran its loop at 1,665 env steps/s on
CUDA and 2,329 on one CPU core (docs/performance.md, benchmarks/results/
throughput_h100host_*.json); wide nets with large minibatches turn that around. So with
CUDA present, ``auto`` times the two parts of the loop that run on the device, on each
device, with this config's network widths and batch sizes, and picks the faster:

- policy inference during collection: one forward pass of the actor on (num_envs,
  obs_dim), steps_per_env times per rollout;
- the PPO update: one forward and backward pass of actor and critic with an Adam step
  on (batch_size, obs_dim), repeat_per_collect * steps_per_collect / batch_size times.

The probe takes well under a second per device. Without CUDA, ``auto`` is the CPU.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gail_cli.settings import NetConfig, PolicyConfig, PPOConfig, TrainerConfig

PROBE_REPEATS = 10  # timed calls of each part, after WARMUP untimed ones
WARMUP = 3


@dataclass(frozen=True)
class LoopShape:
    """What the device-dependent cost of one rollout's collection and update depends on."""

    obs_dim: int
    act_dim: int
    policy_hidden: tuple[int, ...]
    critic_hidden: tuple[int, ...]
    num_envs: int
    steps_per_env: int
    minibatch_size: int
    minibatch_steps: int  # PPO minibatch steps per rollout


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in itertools.pairwise(sizes):
        layers += [nn.Linear(width_in, width_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def _seconds_per_call(call: Callable[[], None], device: torch.device) -> float:
    for _ in range(WARMUP):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    tick = time.perf_counter()
    for _ in range(PROBE_REPEATS):
        call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - tick) / PROBE_REPEATS


def rollout_seconds(shape: LoopShape, device: torch.device) -> float:
    """Estimated seconds of one rollout's device work (inference + PPO update) on device."""
    actor = _mlp([shape.obs_dim, *shape.policy_hidden, shape.act_dim]).to(device)
    critic = _mlp([shape.obs_dim, *shape.critic_hidden, 1]).to(device)
    optim = torch.optim.Adam([*actor.parameters(), *critic.parameters()])
    states = torch.randn(shape.num_envs, shape.obs_dim)
    batch = torch.randn(shape.minibatch_size, shape.obs_dim, device=device)

    def infer() -> None:  # collection: CPU observations in, actions back to the CPU
        with torch.inference_mode():
            actor(states.to(device)).cpu()

    def update() -> None:
        optim.zero_grad()
        loss = actor(batch).square().mean() + critic(batch).square().mean()
        loss.backward()
        optim.step()

    infer_s = _seconds_per_call(infer, device)
    update_s = _seconds_per_call(update, device)
    return shape.steps_per_env * infer_s + shape.minibatch_steps * update_s


def loop_shape(
    obs_dim: int,
    act_dim: int,
    policy: PolicyConfig,
    critic: NetConfig,
    trainer: TrainerConfig,
    ppo: PPOConfig,
) -> LoopShape:
    """The loop's shape from its settings and env dimensions."""
    return LoopShape(
        obs_dim=obs_dim,
        act_dim=act_dim,
        policy_hidden=tuple(policy.hidden_sizes),
        critic_hidden=tuple(critic.hidden_sizes),
        num_envs=trainer.num_envs,
        steps_per_env=trainer.steps_per_env,
        minibatch_size=ppo.batch_size,
        minibatch_steps=ppo.repeat_per_collect * -(-trainer.steps_per_collect // ppo.batch_size),
    )


def choose_device(shape: LoopShape) -> tuple[torch.device, str]:
    """``device=auto``: the faster device for this loop, and one line saying why."""
    cpu = torch.device("cpu")
    if not torch.cuda.is_available():
        return cpu, "device=auto: cpu (no CUDA device)"
    cuda = torch.device("cuda")
    with torch.random.fork_rng(devices=[torch.cuda.current_device()]):  # the run's RNGs stay
        seconds = {device: rollout_seconds(shape, device) for device in (cpu, cuda)}
    chosen = min(seconds, key=seconds.__getitem__)
    return chosen, (
        f"device=auto: {chosen.type} (timed at start with this config's networks "
        f"{list(shape.policy_hidden)}/{list(shape.critic_hidden)}, {shape.num_envs} envs, "
        f"minibatches of {shape.minibatch_size}: one rollout's inference and PPO update take "
        f"{seconds[cpu]:.2f} s on cpu, {seconds[cuda]:.2f} s on cuda; device=cpu or "
        "device=cuda forces one)"
    )
