"""Atomic checkpoint files that load without executing code.

A checkpoint is a dict of tensors, state dicts and plain Python values, saved with
torch.save to a temporary file in the target's folder, fsynced, then renamed over the
target: a crash at any moment leaves the previous checkpoint whole. Loading uses
``torch.load(weights_only=True)``, which refuses anything that would unpickle code.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

import torch

from gail_cli.data.atomic import atomic_path
from gail_cli.errors import GailError, first_sentence

FORMAT_VERSION = 1


# below this many free bytes, a failed write is put down to a full disk
_NEARLY_FULL_BYTES = 64 * 2**20


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write payload to path atomically (temporary file + fsync + rename).

    A failed write (a full disk makes torch report "unexpected pos ...") raises GailError
    saying why, as far as can be told, and that the file already there is kept.
    """
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            torch.save({"format_version": FORMAT_VERSION, **payload}, tmp)
    except (OSError, RuntimeError) as exc:
        raise GailError(_write_failure(path, exc)) from exc


def _write_failure(path: Path, exc: BaseException) -> str:
    """One line: which checkpoint failed, the likely cause, and what was kept."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    full = getattr(exc, "errno", None) == errno.ENOSPC or (
        free is not None and free < _NEARLY_FULL_BYTES
    )
    cause = "the disk is full" if full else first_sentence(exc)
    space = f" ({free / 2**20:.1f} MiB free in {path.parent})" if free is not None else ""
    kept = (
        f"the previous {path.name} is kept whole and loads"
        if path.is_file()
        else "no earlier file of that name existed"
    )
    fix = "free some space, then resume" if full else "resume once that is fixed"
    return f"checkpoint {path} could not be written: {cause}{space}; {kept}; {fix}"


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory's checkpoints/last.pt."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "last.pt"
    if not path.is_file():
        raise GailError(
            f"checkpoint {path}: no such file; pass a .pt file or a run directory "
            "that has checkpoints/last.pt"
        )
    return path


def load_checkpoint(path: str | Path, env_id: str | None = None) -> dict[str, Any]:
    """Load a checkpoint safely; refuse a truncated, foreign or other-env file."""
    path = resolve_checkpoint(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        raise GailError(
            f"checkpoint {path}: cannot be loaded ({first_sentence(exc)}); it is truncated, "
            "corrupt or not a gail-cli checkpoint"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise GailError(f"checkpoint {path}: not a gail-cli checkpoint (format unknown)")
    if env_id is not None and payload.get("env_id") != env_id:
        raise GailError(
            f"checkpoint {path}: made for env {payload.get('env_id')}, not {env_id}; "
            f"pass env={payload.get('env_id')} or a checkpoint of {env_id}"
        )
    return payload
