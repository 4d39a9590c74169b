"""gail-eval: the mean and std return of a checkpoint, expert-normalized when possible."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gail_cli.algo.stats import normalized_return
from gail_cli.cli.rendering import choose_gl_backend
from gail_cli.data.checkpoint import load_checkpoint, resolve_checkpoint
from gail_cli.data.experts import load_expert_data
from gail_cli.errors import positive_int
from gail_cli.run.build import load_policy, random_return
from gail_cli.run.envs import record_video
from gail_cli.run.playback import roll_out, setup


def evaluate_checkpoint(cfg: DictConfig) -> float:
    """Print the return line (and write a video if asked); returns the mean return."""
    device = setup(cfg)
    episodes = positive_int(cfg.episodes, "episodes")
    if cfg.video:  # before any roll-out loads MuJoCo's rendering
        choose_gl_backend()
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
            discrete=policy.discrete,
        )
        expert_return = expert_data.mean_return
    spec, result = roll_out(policy, episodes, device, cfg)
    mean, std = float(result.returns.mean()), float(result.returns.std())
    line = f"{policy.env_id}: return {mean:.1f} +- {std:.1f} over {episodes} episodes"
    random = random_return(policy.config)
    if expert_return and (expert_return > 0 or random is not None):
        score = normalized_return(mean, expert_return, random)
        baseline = "" if random is None else f", random {random:.1f}"
        line += f"; normalized {score:.3f} (expert {expert_return:.1f}{baseline})"
    elif expert_return:
        line += (
            f"; expert {expert_return:.1f} (no normalized score: R / R_expert means nothing "
            "for returns below 0; set env.random_return to score (R - R_random) / "
            "(R_expert - R_random))"
        )
    print(line, flush=True)
    if cfg.video:
        run_dir = Path(HydraConfig.get().runtime.output_dir)  # never beside the checkpoint
        video = Path(cfg.video_path or run_dir / "videos" / f"eval_{policy.env_steps}.mp4")
        frames = record_video(
            policy.env, policy.actor, policy.normalizer, spec, device, cfg.seed, video
        )
        print(f"video: {video} ({frames} frames)", flush=True)
    return mean
