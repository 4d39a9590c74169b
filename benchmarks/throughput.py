"""Throughput benchmark of the gail-train loop (``make bench``); prints figures, asserts nothing.

Measures, in one process on this machine:
  1. the raw simulation rate: the same vector of envs stepped with random actions,
     before, between and after the two loops (each loop is compared with the mean of
     the two around it);
  2. the whole gail-train loop at the reference config (HalfCheetah-v4, 8 envs,
     2048-step rollouts, 10 PPO epochs of 64-sample minibatches, 2 discriminator steps,
     64x64 networks, CPU, TensorBoard logging and evaluation on), after one warm-up rollout,
     as configured by default (evaluation in a background process), and again with
     trainer.eval_in_background=false (evaluation in the training process);
  3. where the loop's time goes;
  4. loading a 1,000,000-transition D4RL file: seconds and peak extra memory (in a fresh
     subprocess, so the peak resident size is the loader's own);
and writes the table as JSON (benchmarks/results/throughput.json by default).

With ``--env-defaults`` it measures instead each MuJoCo env's default gail-train config
(``env=<env>`` with its per-env settings and shipped expert file, nothing else
overridden): the loop's env steps per second over the raw simulation rate of the same
env and env count, measured before and after that loop (benchmarks/results/
throughput_env_defaults.json by default). The window ends with the run's final
evaluation, which a default run pays once in its 1M env steps: the ratio spreads that
measured cost over the run's length, and the window's own ratio is printed beside it.

    python benchmarks/throughput.py [--steps 102400] [--out FILE] [--device cpu]
    python benchmarks/throughput.py --env-defaults [--steps 20480]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_module

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.data.experts import write_d4rl
from gail_cli.run.build import build_trainer
from gail_cli.run.envs import make_vector_env
from gail_cli.run.logger import RunLogger

ENV_ID = "HalfCheetah-v4"
NUM_ENVS = 8
STEPS_PER_COLLECT = 2048
REFERENCE = [
    f"env={ENV_ID}",
    f"trainer.num_envs={NUM_ENVS}",
    f"trainer.steps_per_collect={STEPS_PER_COLLECT}",
    "ppo.repeat_per_collect=10",
    "ppo.batch_size=64",
    "discriminator.disc_update_num=2",
    "policy.hidden_sizes=[64,64]",
    "critic.hidden_sizes=[64,64]",
    "discriminator.hidden_sizes=[64,64]",
]
LOAD_TRANSITIONS = 1_000_000
# trainer.eval_every of the measured loops (a 1M-step run's default)
EVAL_EVERY = 50_000
MUJOCO_ENVS = ("HalfCheetah-v4", "Hopper-v4", "Walker2d-v4", "Ant-v4")


def raw_simulation_rate(env_steps: int, env_id: str = ENV_ID, num_envs: int = NUM_ENVS) -> float:
    """Env steps per second of the vector env under uniformly random actions."""
    envs = make_vector_env(env_id, num_envs)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    low, high = envs.single_action_space.low, envs.single_action_space.high
    vector_steps = env_steps // num_envs
    start = time.perf_counter()
    for _ in range(vector_steps):
        envs.step(rng.uniform(low, high, size=(num_envs, low.shape[0])).astype(np.float32))
    elapsed = time.perf_counter() - start
    envs.close()
    return vector_steps * num_envs / elapsed


def make_expert_file(path: Path, transitions: int, seed: int = 0) -> None:
    """A HalfCheetah-shaped D4RL file of ``transitions`` rows (1000-step episodes)."""
    rng = np.random.default_rng(seed)
    timeouts = np.zeros(transitions, dtype=bool)
    timeouts[999::1000] = True
    write_d4rl(
        path,
        observations=rng.normal(size=(transitions, 17)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(transitions, 6)).astype(np.float32),
        rewards=rng.normal(size=transitions).astype(np.float32),
        terminals=np.zeros(transitions, dtype=bool),
        timeouts=timeouts,
        attrs={"env_id": ENV_ID},
        overwrite=True,
    )


def loop_rate(
    expert_path: Path | None,
    measured_steps: int,
    device: str,
    eval_in_background: bool,
    config: list[str] = REFERENCE,
) -> dict[str, float]:
    """Run the real training loop; returns its rate and per-phase seconds per 1k steps.

    ``config`` is the overrides of the measured config; ``expert_path`` None keeps its
    dataset.path (the env's shipped expert file).
    """
    overrides = [
        *config,
        *([f"dataset.path={expert_path}"] if expert_path is not None else []),
        f"device={device}",
        f"trainer.eval_every={EVAL_EVERY}",
        f"trainer.eval_in_background={str(eval_in_background).lower()}",
    ]
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    warmup = int(cfg.trainer.steps_per_collect)
    total = warmup + measured_steps
    cfg.trainer.total_env_steps = total
    with tempfile.TemporaryDirectory() as run_dir:
        trainer, _ = build_trainer(cfg, Path(run_dir), imitation=True)
        logger = RunLogger(Path(run_dir), total)
        trainer.config.total_env_steps = warmup  # one rollout + update to warm up
        trainer.run(logger)
        trainer.config.total_env_steps = total
        trainer.seconds.clear()
        for key in trainer.collector.seconds:
            trainer.collector.seconds[key] = 0.0
        start = time.perf_counter()
        trainer.run(logger)  # includes the final evaluation, as a real run does
        elapsed = time.perf_counter() - start
        logger.close()
        trainer.close()
    steps = total - warmup
    per_k = 1000 / steps
    phases = {
        "collect: env step": trainer.collector.seconds["env_step"],
        "collect: policy inference": trainer.collector.seconds["policy"],
        "collect: bookkeeping": trainer.seconds["collect"]
        - trainer.collector.seconds["env_step"]
        - trainer.collector.seconds["policy"],
        "discriminator updates": trainer.seconds["disc_update"],
        "PPO updates": trainer.seconds["ppo_update"],
        "logging": trainer.seconds["logging"],
        "evaluation": trainer.seconds["evaluation"],
        "checkpoints": trainer.seconds["checkpoint"],
    }
    accounted = sum(phases.values())
    phases["other"] = elapsed - accounted
    return {
        "env_steps": steps,
        "seconds": elapsed,
        "env_steps_per_s": steps / elapsed,
        **{f"s_per_1k_steps/{k}": v * per_k for k, v in phases.items()},
    }


# Peak resident size from /proc (VmHWM, kB): unlike ru_maxrss it is not inherited
# from the forking parent, so it measures this process alone.
LOAD_PROBE = """
import sys, time
from gail_cli.data.experts import load_expert_data
def peak_kb():
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0])
before = peak_kb()
start = time.perf_counter()
data = load_expert_data(sys.argv[1], obs_dim=17, act_dim=6)
elapsed = time.perf_counter() - start
peak = peak_kb()
arrays = sum(a.nbytes for a in (data.observations, data.actions, data.rewards,
                                data.terminals, data.timeouts))
print(elapsed, (peak - before) * 1024, arrays)
"""


def expert_loading(path: Path) -> dict[str, float]:
    """Seconds and peak extra resident memory of loading the file, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    seconds, peak_extra, array_bytes = float(out[0]), float(out[1]), float(out[2])
    return {
        "transitions": LOAD_TRANSITIONS,
        "seconds": seconds,
        "peak_extra_MB": peak_extra / 2**20,
        "arrays_MB": array_bytes / 2**20,
        "peak_over_arrays": peak_extra / array_bytes,
    }


def run_proportioned_rate(loop: dict[str, float], run_steps: int) -> tuple[float, float]:
    """(env steps/s of a ``run_steps``-long run, seconds of its end-of-run work).

    ``loop`` is a window with no periodic evaluation in it, so its evaluation and checkpoint
    seconds are the end of the run (the final evaluation, waited for, and the last save),
    which a run pays once: they are spread over ``run_steps`` instead of the window.
    """
    steps = loop["env_steps"]
    per_step = steps / 1000
    end = (loop["s_per_1k_steps/evaluation"] + loop["s_per_1k_steps/checkpoints"]) * per_step
    seconds = loop["seconds"] - end + end * min(1.0, steps / run_steps)
    return steps / seconds, end


def env_defaults(measured_steps: int, raw_steps: int, device: str, out: Path) -> None:
    """Each MuJoCo env's default gail-train config: loop rate over the raw rate."""
    rows = {}
    for env_id in MUJOCO_ENVS:
        with initialize_config_module("gail_cli.conf", version_base="1.3"):
            default = compose("train", overrides=[f"env={env_id}"]).trainer
        num_envs, run_steps = int(default.num_envs), int(default.total_env_steps)
        if int(default.steps_per_collect) + measured_steps >= EVAL_EVERY:
            # the window (after its warm-up rollout) must hold no periodic evaluation
            raise SystemExit(
                f"throughput: error: --steps {measured_steps} plus {env_id}'s warm-up rollout "
                f"reaches the first evaluation at {EVAL_EVERY:,} env steps; measure fewer"
            )
        print(
            f"{env_id}: raw rate, default loop ({measured_steps} env steps), raw rate", flush=True
        )
        before = raw_simulation_rate(raw_steps, env_id, num_envs)
        loop = loop_rate(None, measured_steps, device, True, config=[f"env={env_id}"])
        after = raw_simulation_rate(raw_steps, env_id, num_envs)
        raw = (before + after) / 2
        run_rate, end_of_run_s = run_proportioned_rate(loop, run_steps)
        rows[env_id] = {
            "raw_env_steps_per_s_before_after": [before, after],
            "loop": loop,
            "run_env_steps": run_steps,
            "end_of_run_s": end_of_run_s,
            "loop_over_raw": run_rate / raw,
            "window_over_raw": loop["env_steps_per_s"] / raw,
        }
    result = {"machine": _machine(device), "env_defaults": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(
        "| env | raw (before / after, env steps/s) | default loop (env steps/s) "
        "| loop / raw | end of run (s) | window with it / raw |"
    )
    print("|---|---|---|---|---|---|")
    for env_id, row in rows.items():
        before, after = row["raw_env_steps_per_s_before_after"]
        rate = row["loop"]["env_steps_per_s"]
        print(
            f"| {env_id} | {before:,.0f} / {after:,.0f} | {rate:,.0f} | "
            f"{row['loop_over_raw']:.3f} | {row['end_of_run_s']:.1f} | "
            f"{row['window_over_raw']:.3f} |"
        )
    print(
        "\nloop / raw: the loop's rate in a run of the default length, its end-of-run work "
        "(final evaluation and save, measured) spread over the run; the last column charges "
        "it to the measured window alone"
    )
    print(f"\nwritten to {out}")


def _machine(device: str) -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="measured loop env steps")
    parser.add_argument("--raw-steps", type=int, default=80_000, help="raw simulation steps")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--env-defaults",
        action="store_true",
        help="measure each MuJoCo env's default gail-train config instead",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = Path(__file__).parent / "results"
    if args.env_defaults:
        out = args.out or results / "throughput_env_defaults.json"
        env_defaults(args.steps or 20_480, args.raw_steps, args.device, out)
        return
    args.steps = args.steps or 102_400
    args.out = args.out or results / "throughput.json"
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "expert_1m.hdf5"
        print(f"writing a {LOAD_TRANSITIONS}-transition D4RL file ...", flush=True)
        make_expert_file(big, LOAD_TRANSITIONS)
        loading = expert_loading(big)
        small = Path(tmp) / "expert.hdf5"
        make_expert_file(small, 25_000)
        # the raw rate is measured before, between and after the two loops, and each loop
        # is compared with the mean of the two measurements around it: this machine's
        # speed drifts by 10-30 % within minutes, which one raw figure would misread
        print("raw simulation rate ...", flush=True)
        raws = [raw_simulation_rate(args.raw_steps)]
        print(f"gail-train loop, {args.steps} env steps ...", flush=True)
        loop = loop_rate(small, args.steps, args.device, eval_in_background=True)
        raws.append(raw_simulation_rate(args.raw_steps))
        print("the same loop with evaluation in the training process ...", flush=True)
        inline = loop_rate(small, args.steps, args.device, eval_in_background=False)
        raws.append(raw_simulation_rate(args.raw_steps))
    raw_around_loop = (raws[0] + raws[1]) / 2
    raw_around_inline = (raws[1] + raws[2]) / 2
    result = {
        "machine": _machine(args.device),
        "reference_config": REFERENCE,
        "raw_env_steps_per_s": raw_around_loop,
        "raw_env_steps_per_s_before_between_after": raws,
        "loop": loop,
        "loop_over_raw": loop["env_steps_per_s"] / raw_around_loop,
        "loop_eval_inline": inline,
        "loop_eval_inline_over_raw": inline["env_steps_per_s"] / raw_around_inline,
        "expert_loading": loading,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(f"| {'figure':<48} | {'value':>12} |")
    print(f"|{'-' * 50}|{'-' * 14}|")
    rows = [
        ("raw simulation, before the loops (env steps/s)", raws[0]),
        ("raw simulation, between them (env steps/s)", raws[1]),
        ("raw simulation, after them (env steps/s)", raws[2]),
        ("  drift: highest / lowest", max(raws) / min(raws)),
        ("gail-train loop (env steps/s)", loop["env_steps_per_s"]),
        ("loop / raw simulation (mean before, between)", result["loop_over_raw"]),
        *((f"  {k.split('/', 1)[1]} (s per 1k steps)", v) for k, v in loop.items() if "/" in k),
        ("loop, evaluation inline (env steps/s)", inline["env_steps_per_s"]),
        ("  its ratio to raw simulation (between, after)", result["loop_eval_inline_over_raw"]),
        ("  its evaluation (s per 1k steps)", inline["s_per_1k_steps/evaluation"]),
        ("expert load, 1M transitions (s)", loading["seconds"]),
        ("expert load peak extra memory (MB)", loading["peak_extra_MB"]),
        ("  arrays' size (MB)", loading["arrays_MB"]),
        ("  peak / arrays", loading["peak_over_arrays"]),
    ]
    for name, value in rows:
        print(f"| {name:<48} | {value:>12.3f} |")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
