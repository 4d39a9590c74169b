"""gail-collect: roll out a checkpoint and write its episodes as a D4RL HDF5 file."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.data.experts import AttrValue, write_d4rl
from gail_cli.errors import GailError
from gail_cli.run.build import load_policy
from gail_cli.run.playback import positive_int, roll_out, setup


def collect_dataset(cfg: DictConfig) -> float:
    """Write cfg.out (refusing to replace it unless cfg.overwrite); returns the mean return."""
    device = setup(cfg)
    episodes = positive_int(cfg.episodes, "episodes")
    out = Path(cfg.out)
    if out.exists() and not cfg.overwrite:
        raise GailError(f"out={out} already exists; pass overwrite=true to replace it")
    policy = load_policy(load_checkpoint(cfg.checkpoint), device)
    _, result = roll_out(policy, episodes, device, cfg, record=True)
    mean, std = float(result.returns.mean()), float(result.returns.std())
    attrs: dict[str, AttrValue] = {
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
    transitions = dict(result.transitions)
    if not cfg.get("next_observations", True):
        del transitions["next_observations"]
    write_d4rl(out, **transitions, attrs=attrs, overwrite=bool(cfg.overwrite))
    print(
        f"wrote {out}: {episodes} episodes, {len(result.transitions['rewards'])} transitions, "
        f"return {mean:.1f} +- {std:.1f}",
        flush=True,
    )
    return mean
