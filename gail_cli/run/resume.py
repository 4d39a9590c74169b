"""Resuming a run: its checkpoint's config, with this command's key overrides on top."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gail_cli.errors import GailError


def check_mode(checkpoint: dict[str, Any], resume: str, imitation: bool) -> None:
    """Refuse a gail-expert checkpoint in gail-train and the other way round."""
    mode = "gail" if imitation else "expert"
    if checkpoint.get("mode") != mode:
        other = "gail-train" if checkpoint.get("mode") == "gail" else "gail-expert"
        raise GailError(f"resume={resume} is a {other} checkpoint; resume it with {other}")


def resumed_config(checkpoint: dict[str, Any], overrides: list[str]) -> DictConfig:
    """The run's saved config with this command's explicit overrides applied on top.

    ``gail-train resume=<dir> trainer.total_env_steps=2000000`` extends a run; the env
    and config groups cannot change.
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


def finished_metrics(run_dir: Path) -> dict[str, Any] | None:
    """The metrics.json of a job that already ran to its end (or was pruned), else None."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # unreadable: the job runs again
        return None


def interrupted_checkpoint(run_dir: Path) -> Path | None:
    """``checkpoints/last.pt`` of a job cut short (no metrics.json), else None."""
    path = run_dir / "checkpoints" / "last.pt"
    return path if path.is_file() and not (run_dir / "metrics.json").exists() else None
