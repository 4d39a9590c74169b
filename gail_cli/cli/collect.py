"""gail-collect: roll out a checkpoint and write its episodes as a D4RL HDF5 file."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gail_cli.data.checkpoint import load_checkpoint, resolve_checkpoint
from gail_cli.data.experts import AttrValue, write_d4rl
from gail_cli.errors import positive_int, refuse_to_replace
from gail_cli.run.build import load_policy
from gail_cli.run.playback import roll_out, setup

# the collect keys that name files: provenance records them without absolute paths
PATH_KEYS = ("checkpoint", "out")


def portable_path(path: str | Path, base: Path) -> str:
    """``path`` as a file's provenance may record it: relative to ``base`` (the working
    directory) when it lies below it, else its name alone. An absolute path describes the
    machine that wrote the file, not the data, and would travel with every copy."""
    text = str(path)
    resolved = Path(os.path.expandvars(os.path.expanduser(text)))
    if not resolved.is_absolute():
        return text
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return resolved.name


def portable_command(argv: list[str], base: Path) -> str:
    """The gail-collect command line, each ``checkpoint=`` / ``out=`` made portable."""
    words = ["gail-collect"]
    for word in argv:
        key, sep, value = word.partition("=")
        words.append(f"{key}={portable_path(value, base)}" if sep and key in PATH_KEYS else word)
    return " ".join(words)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def collect_dataset(cfg: DictConfig) -> float:
    """Write cfg.out (refusing to replace it unless cfg.overwrite); returns the mean return."""
    device = setup(cfg)
    episodes = positive_int(cfg.episodes, "episodes")
    out = Path(cfg.out)
    refuse_to_replace(out, bool(cfg.overwrite), f"out={out}")
    checkpoint_file = resolve_checkpoint(cfg.checkpoint)
    policy = load_policy(load_checkpoint(checkpoint_file), device)
    _, result = roll_out(policy, episodes, device, cfg, record=True)
    mean, std = float(result.returns.mean()), float(result.returns.std())
    base = Path.cwd()
    recorded = OmegaConf.to_container(cfg)
    assert isinstance(recorded, dict)
    for key in PATH_KEYS:
        recorded[key] = portable_path(recorded[key], base)
    attrs: dict[str, AttrValue] = {
        "env_id": policy.env_id,
        "num_episodes": episodes,
        "expert_mean_return": mean,
        "expert_std_return": std,
        "deterministic": bool(cfg.deterministic),
        "source_checkpoint": portable_path(checkpoint_file, base),
        "source_checkpoint_sha256": file_sha256(checkpoint_file),
        "source_env_steps": policy.env_steps,
        "command": portable_command(sys.argv[1:], base),
        "collect_config": OmegaConf.to_yaml(OmegaConf.create(recorded)),
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
