"""Minari dataset ids resolved in Minari's local store; nothing is ever downloaded.

Minari keeps each dataset under a root folder, ``$MINARI_DATASETS_PATH`` or else
``~/.minari/datasets``, as ``<root>/<dataset id>/data/main_data.hdf5``, where a dataset
id such as ``mujoco/hopper/expert-v0`` may have namespace folders. That file holds the
episodes as ``episode_<i>`` groups, which :func:`gail_cli.data.experts.load_expert_data` reads.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gail_cli.errors import GailError

ROOT_VARIABLE = "MINARI_DATASETS_PATH"
DEFAULT_ROOT = Path("~/.minari/datasets")
DATA_FILE = Path("data") / "main_data.hdf5"
# optional namespace folders, then name-vN: "mujoco/hopper/expert-v0", "door-human-v1"
DATASET_ID = re.compile(r"(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+-v\d+")
LISTED = 12


def minari_root() -> Path:
    """Minari's local store: $MINARI_DATASETS_PATH, else ~/.minari/datasets."""
    return Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT).expanduser()


def local_dataset_ids(root: Path) -> list[str]:
    """Sorted ids of the datasets under ``root`` (folders holding data/main_data.hdf5)."""
    if not root.is_dir():
        return []
    found = root.rglob(str(DATA_FILE))
    return sorted(p.parent.parent.relative_to(root).as_posix() for p in found if p.is_file())


def resolve_minari_id(dataset_id: str) -> Path:
    """The main data file of a dataset in the local store; GailError if it is not there."""
    if not DATASET_ID.fullmatch(dataset_id) or ".." in dataset_id.split("/"):
        raise GailError(
            f"dataset.minari_id={dataset_id!r} is not a Minari dataset id; "
            "write it as <namespace>/<name>-v<N>, e.g. dataset.minari_id=mujoco/hopper/expert-v0"
        )
    root = minari_root()
    path = root / dataset_id / DATA_FILE
    if path.is_file():
        return path
    ids = local_dataset_ids(root)
    shown = ", ".join(ids[:LISTED]) + (f", ... ({len(ids)} in all)" if len(ids) > LISTED else "")
    raise GailError(
        f"dataset.minari_id={dataset_id}: not in Minari's local store {root} "
        f"(datasets there: {shown or 'none'}); gail-cli does not download datasets: "
        f"get it with `minari download {dataset_id}` or set {ROOT_VARIABLE}"
    )
