"""Path keys as users type them: ``~``, ``$VARS``, relative paths and the shipped experts.

``checkpoint=shipped:Hopper-v4`` names the expert checkpoint shipped with gail-cli, and
``dataset.path=shipped:Hopper-v4`` (or ``expert=``) its demonstration file, from any
folder. Every path key of a command's config is expanded once, before the command runs,
into an absolute path: a run's saved config then names the same files from anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gail_cli.errors import GailError
from gail_cli.run.build import data_dir

SHIPPED_PREFIX = "shipped:"

# the file a shipped name stands for, by the key that names it
_SHIPPED_SUFFIX = {
    "checkpoint": ".pt",
    "dataset.path": ".hdf5",
    "expert": ".hdf5",
}


def shipped_names() -> list[str]:
    """Names of the shipped experts (``Hopper-v4``, ...): files of data/experts/."""
    folder = Path(data_dir()) / "experts"
    return sorted({p.stem for p in folder.glob("*.pt")} | {p.stem for p in folder.glob("*.hdf5")})


def shipped_file(name: str, key: str) -> Path:
    """The shipped file ``shipped:<name>`` stands for as the value of ``key``."""
    suffix = _SHIPPED_SUFFIX.get(key)
    if suffix is None:
        raise GailError(
            f"{key}={SHIPPED_PREFIX}{name}: shipped names are for {list(_SHIPPED_SUFFIX)}"
        )
    path = Path(data_dir()) / "experts" / f"{name}{suffix}"
    if not path.is_file():
        raise GailError(
            f"{key}={SHIPPED_PREFIX}{name}: no shipped {suffix} file of that name; "
            f"the shipped experts are {', '.join(shipped_names())}"
        )
    return path


def expand_user_path(value: str) -> Path:
    """``~`` and ``$VAR`` / ``${VAR}`` expanded, then made absolute against the cwd."""
    return Path(os.path.expandvars(os.path.expanduser(value))).absolute()


def expand_path_keys(cfg: DictConfig, keys: tuple[str, ...]) -> None:
    """Rewrite each of ``keys`` that ``cfg`` sets to a string as an absolute path, in place.

    Interpolations (the default expert file of the env) are left to resolve as they are.
    """
    for key in keys:
        if key.startswith("hydra.") or OmegaConf.select(cfg, key, default=None) is None:
            continue
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if OmegaConf.is_interpolation(parent, leaf):
            continue
        value = parent[leaf]
        if not isinstance(value, str) or not value:
            continue
        if value.startswith(SHIPPED_PREFIX):
            path = shipped_file(value.removeprefix(SHIPPED_PREFIX), key)
        else:
            path = expand_user_path(value)
        parent[leaf] = str(path)
