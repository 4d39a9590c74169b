"""The console scripts, thin Hydra apps: compose the config, build, run, report.

Bad input of any kind ends a command with one line on stderr and exit code 2; an
interruption (Ctrl-C, SIGTERM) saves a checkpoint and exits with 128 + the signal number.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gail_cli.bc import warm_start
from gail_cli.build import (
    Policy,
    build_trainer,
    data_dir,
    load_policy,
    pick_device,
    seed_everything,
    set_threads,
)
from gail_cli.checkpoint import load_checkpoint, resolve_checkpoint
from gail_cli.data import load_expert_data, write_d4rl
from gail_cli.envs import EnvSpec, Episodes, env_spec, make_vector_env, play_episodes, record_video
from gail_cli.errors import GailError
from gail_cli.logger import RunLogger
from gail_cli.trainer import Interrupted, write_json_atomic

CONFIG_PATH = "pkg://gail_cli.conf"
EXIT_BAD_INPUT = 2


def make_dirs(path: str) -> str:
    """Config resolver: create the folder (e.g. a sweep dir for a SQLite study) and return it."""
    Path(path).mkdir(parents=True, exist_ok=True)
    return str(Path(path).resolve())


OmegaConf.register_new_resolver("data_dir", data_dir, replace=True)
OmegaConf.register_new_resolver("make_dirs", make_dirs, replace=True)
logging.getLogger("OpenGL").setLevel(logging.WARNING)  # its import-time INFO line is noise


def guarded(program: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[DictConfig], Any]]:
    """Turn GailError into one stderr line and exit 2; Interrupted into 128 + signum.

    In a multirun the error is re-raised after its line, so the sweeper records the job
    as failed while the other jobs run on.
    """

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
        @functools.wraps(task)
        def wrapper(cfg: DictConfig) -> Any:
            try:
                return task(cfg)
            except GailError as exc:
                hydra_cfg = HydraConfig.get()
                if hydra_cfg.mode != RunMode.MULTIRUN:
                    print(f"{program}: error: {exc}", file=sys.stderr, flush=True)
                    sys.exit(EXIT_BAD_INPUT)
                job = f"job {hydra_cfg.job.num} ({hydra_cfg.job.override_dirname})"
                print(f"{program}: error: {job}: {exc}", file=sys.stderr, flush=True)
                exc.reported = True  # type: ignore[attr-defined]
                raise
            except KeyboardInterrupt:  # a second Ctrl-C: stop at once, no new checkpoint
                print(f"{program}: aborted; the last checkpoint is kept", file=sys.stderr)
                sys.exit(130)
            except Interrupted as exc:
                run_dir = exc.checkpoint.parent.parent
                print(
                    f"{program}: {exc}; checkpoint saved to {exc.checkpoint}; "
                    f"continue with: {program} resume={run_dir}",
                    file=sys.stderr,
                    flush=True,
                )
                sys.exit(128 + exc.signum)

        return wrapper

    return decorate


def _flatten(cfg: DictConfig) -> dict[str, Any]:
    """Resolved config as {'ppo.lr': 3e-4, ...} for the hparams plugin."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            out[prefix[:-1]] = node

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def resumed_config(checkpoint: dict[str, Any], overrides: list[str]) -> DictConfig:
    """The run's saved config with this command's explicit overrides applied on top.

    ``gail-train resume=<dir> trainer.total_env_steps=2000000`` extends a run; the env
    cannot change.
    """
    cfg = OmegaConf.create(checkpoint["config"])
    extra = [o for o in overrides if not o.startswith(("resume=", "hydra."))]
    groups = [o for o in extra if "." not in o.split("=", 1)[0].lstrip("+~")]
    if groups:
        raise GailError(
            f"resume: {groups} cannot change on resume (the run keeps its config); "
            "override single keys such as trainer.total_env_steps=... instead"
        )
    try:
        cfg.merge_with_dotlist(extra)
    except Exception as exc:  # omegaconf reports bad dotlists with several types
        raise GailError(f"resume: cannot apply overrides {extra}: {exc}") from None
    if cfg.env.id != checkpoint["env_id"]:
        raise GailError(
            f"resume: the checkpoint is of env {checkpoint['env_id']}, not {cfg.env.id}; "
            "drop the env override"
        )
    return cfg


def run_training(cfg: DictConfig, imitation: bool) -> float:
    """Build and run one training; returns the figure a sweeper should maximize.

    That is the final eval normalized return for GAIL and the eval return for an expert.
    """
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    checkpoint = None
    if cfg.get("resume"):
        checkpoint = load_checkpoint(cfg.resume)
        mode = "gail" if imitation else "expert"
        if checkpoint.get("mode") != mode:
            other = "gail-train" if checkpoint.get("mode") == "gail" else "gail-expert"
            raise GailError(f"resume={cfg.resume} is a {other} checkpoint; resume it with {other}")
        run_dir = Path(checkpoint["run_dir"])
        cfg = resumed_config(checkpoint, HydraConfig.get().overrides.task)
    trainer, expert = build_trainer(cfg, run_dir, imitation, checkpoint)
    progress = trainer.progress
    logger = RunLogger(run_dir, trainer.config.total_env_steps, progress.env_steps)
    if expert is not None:
        logger.message(
            f"expert: {expert.path} ({expert.num_episodes} episodes, "
            f"{expert.num_transitions} transitions, mean return {expert.mean_return:.1f})"
        )
        if checkpoint is None and trainer.config.bc_init_steps:
            logger.message(warm_start(trainer.agent, expert, trainer.config.bc_init_steps))
    try:
        if checkpoint is None:
            logger.text("config", f"```\n{OmegaConf.to_yaml(cfg, resolve=True)}\n```")
        metrics = trainer.run(logger)
        logger.hparams(_flatten(cfg), metrics)
    finally:
        logger.close()
        trainer.close()
    write_json_atomic(run_dir / "metrics.json", metrics)
    logger.message(
        f"done: {int(metrics['env_steps'])} env steps, eval return "
        f"{metrics.get('eval/return', float('nan')):.1f}, run dir {run_dir}"
    )
    key = "eval/normalized_return" if imitation else "eval/return"
    value = float(metrics.get(key, metrics.get("eval/return", float("nan"))))
    if not math.isfinite(value):  # a sweeper (Optuna) cannot rank it: report a failure
        raise GailError(f"the final {key} is {value}; see {run_dir} (training diverged?)")
    return value


def one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line.

    Lists of options ("Available options in 'env': ...") are joined with commas; the
    config search path and key-location details are dropped.
    """
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror}: {exc.filename}; choose a writable location (e.g. hydra.run.dir=)"
    sentences: list[str] = []
    for error in (exc, exc.__cause__):
        if error is None:
            continue
        options: list[str] = []
        for raw in str(error).splitlines():
            if raw.startswith("Config search path"):
                break
            line = raw.strip()
            if not line or line.startswith(("full_key:", "object_type=", "reference_type=")):
                continue
            if raw.startswith("\t"):
                options.append(line)
            else:
                if options:
                    sentences[-1] += " " + ", ".join(options)
                    options = []
                sentences.append(line)
        if options and sentences:
            sentences[-1] += " " + ", ".join(options)
    return " ".join(sentences) or type(exc).__name__


def console_script(app: Callable[[], Any], program: str) -> Callable[[], None]:
    """Wrap a Hydra app so that whatever Hydra refuses also ends in one line and exit 2.

    Hydra normally prints multi-line errors itself; with HYDRA_FULL_ERROR set here, they
    propagate to this wrapper instead. A user who sets HYDRA_FULL_ERROR=1 still gets the
    full traceback.
    """

    def main() -> None:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            app()
            return
        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            app()
        except GailError as exc:  # a multirun job's error, re-raised by the sweeper
            if getattr(exc, "reported", False):
                print(
                    f"{program}: error: a job of the sweep failed (its error is above); "
                    "the other jobs ran to the end",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(f"{program}: error: {exc}", file=sys.stderr, flush=True)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            print(f"{program}: error: {one_line(exc)}", file=sys.stderr, flush=True)
            sys.exit(EXIT_BAD_INPUT)

    main.__doc__ = app.__doc__
    return main


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
@guarded("gail-train")
def _train_app(cfg: DictConfig) -> float:
    """gail-train: GAIL on the chosen env from the expert file of dataset.path."""
    return run_training(cfg, imitation=True)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="expert")
@guarded("gail-expert")
def _expert_app(cfg: DictConfig) -> float:
    """gail-expert: the same PPO on the environment's own reward."""
    return run_training(cfg, imitation=False)


train = console_script(_train_app, "gail-train")
expert = console_script(_expert_app, "gail-expert")


def _positive_int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise GailError(f"{key}={value!r} must be a positive integer")
    return value


def _setup(cfg: DictConfig) -> torch.device:
    """Seed, device and threads for the commands that only roll a policy out."""
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    set_threads(cfg.threads, device)
    return device


def _roll_out(
    policy: Policy, episodes: int, device: torch.device, cfg: DictConfig, record: bool = False
) -> tuple[EnvSpec, Episodes]:
    """One episode per env of a vector of ``episodes`` envs, as cfg.deterministic says."""
    envs = make_vector_env(policy.env_id, episodes)
    try:
        spec = env_spec(envs, policy.env_id)
        result = play_episodes(
            envs, policy.actor, policy.normalizer, spec, device, cfg.seed, cfg.deterministic, record
        )
    finally:
        envs.close()
    return spec, result


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="eval")
@guarded("gail-eval")
def _eval_app(cfg: DictConfig) -> float:
    """gail-eval: mean and std return of a checkpoint, expert-normalized when possible."""
    device = _setup(cfg)
    episodes = _positive_int(cfg.episodes, "episodes")
    checkpoint_path = resolve_checkpoint(cfg.checkpoint)
    policy = load_policy(load_checkpoint(checkpoint_path), device)
    expert_path = cfg.expert or OmegaConf.select(policy.config, "dataset.path")
    expert_return = None
    if expert_path:
        expert_data = load_expert_data(
            expert_path,
            obs_dim=policy.obs_dim,
            act_dim=policy.act_dim,
            env_id=policy.env_id,
        )
        expert_return = expert_data.mean_return
    spec, result = _roll_out(policy, episodes, device, cfg)
    mean, std = float(result.returns.mean()), float(result.returns.std())
    line = f"{policy.env_id}: return {mean:.1f} +- {std:.1f} over {episodes} episodes"
    if expert_return:
        line += f"; normalized {mean / expert_return:.3f} (expert {expert_return:.1f})"
    print(line, flush=True)
    if cfg.video:
        folder = checkpoint_path.parent  # a run's videos/ sits beside its checkpoints/
        if folder.name == "checkpoints":
            folder = folder.parent
        video = Path(cfg.video_path or folder / "videos" / f"eval_{policy.env_steps}.mp4")
        frames = record_video(
            policy.env_id, policy.actor, policy.normalizer, spec, device, cfg.seed, video
        )
        print(f"video: {video} ({frames} frames)", flush=True)
    return mean


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="collect")
@guarded("gail-collect")
def _collect_app(cfg: DictConfig) -> float:
    """gail-collect: roll out a checkpoint and write its episodes as a D4RL HDF5 file."""
    device = _setup(cfg)
    episodes = _positive_int(cfg.episodes, "episodes")
    out = Path(cfg.out)
    if out.exists() and not cfg.overwrite:
        raise GailError(f"out={out} already exists; pass overwrite=true to replace it")
    policy = load_policy(load_checkpoint(cfg.checkpoint), device)
    _, result = _roll_out(policy, episodes, device, cfg, record=True)
    mean, std = float(result.returns.mean()), float(result.returns.std())
    attrs = {
        "env_id": policy.env_id,
        "num_episodes": episodes,
        "expert_mean_return": mean,
        "expert_std_return": std,
        "deterministic": bool(cfg.deterministic),
        "source_checkpoint": str(cfg.checkpoint),
        "source_env_steps": policy.env_steps,
        "command": " ".join(["gail-collect", *sys.argv[1:]]),
        "collect_config": OmegaConf.to_yaml(cfg),
        "policy_config": OmegaConf.to_yaml(policy.config),
    }
    assert result.transitions is not None
    write_d4rl(out, **result.transitions, attrs=attrs, overwrite=bool(cfg.overwrite))
    print(
        f"wrote {out}: {episodes} episodes, {len(result.transitions['rewards'])} transitions, "
        f"return {mean:.1f} +- {std:.1f}",
        flush=True,
    )
    return mean


evaluate = console_script(_eval_app, "gail-eval")
collect = console_script(_collect_app, "gail-collect")
