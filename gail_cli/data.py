"""Expert demonstrations: HDF5 reading (D4RL and Minari layouts), writing, validation.

Arrays are read whole (one read per dataset, straight into float32), never per
transition, and nothing is ever unpickled. Every refusal is a one-line GailError that
names the file.

Shapes: N transitions, E episodes, obs_dim / act_dim as the env's spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from gail_cli.atomic import atomic_path
from gail_cli.errors import GailError

D4RL_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")
MINARI_KEYS = ("observations", "actions", "rewards", "terminations", "truncations")
MEAN_RETURN_ATTRS = ("expert_mean_return", "mean_return")


@dataclass(frozen=True)
class ExpertData:
    """Expert transitions with episodes laid end to end.

    observations (N, obs_dim) float32, actions (N, act_dim) float32, rewards (N,) float32,
    terminals / timeouts (N,) bool (how each episode's last step ended), episode_returns
    (E,) float64. mean_return: the expert's mean episode return used for normalizing.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    episode_returns: np.ndarray
    mean_return: float
    env_id: str | None
    path: str

    @property
    def num_transitions(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(self.episode_returns.shape[0])


def load_expert_data(
    path: str | Path,
    obs_dim: int | None = None,
    act_dim: int | None = None,
    num_trajectories: int | None = None,
    env_id: str | None = None,
) -> ExpertData:
    """Read and validate an expert file in the D4RL or Minari layout (detected)."""
    path = Path(path)
    where = f"expert file {path}"
    if not path.is_file():
        raise GailError(f"{where}: no such file; pass an existing file with dataset.path=<file>")
    if not h5py.is_hdf5(path):
        raise GailError(f"{where}: not an HDF5 file; pass a D4RL or Minari .hdf5 file")
    try:
        with h5py.File(path, "r") as f:
            if all(k in f for k in ("observations", "actions")):
                arrays = _read_d4rl(f, where)
            elif any(_episode_number(k) is not None for k in f):
                arrays = _read_minari(f, where)
            else:
                raise GailError(
                    f"{where}: no 'observations'/'actions' datasets and no 'episode_<i>' "
                    f"groups (found keys: {sorted(f.keys())}); it is neither D4RL nor Minari"
                )
            attrs = dict(f.attrs)
    except OSError as exc:
        raise GailError(f"{where}: cannot be read ({exc}); the file may be truncated") from None
    return _validate(arrays, attrs, where, str(path), obs_dim, act_dim, num_trajectories, env_id)


def _read_float(f: h5py.Group, key: str, where: str) -> np.ndarray:
    dataset = f[key]
    if not isinstance(dataset, h5py.Dataset):
        raise GailError(f"{where}: '{key}' is a group, expected an array (only Box spaces)")
    return dataset.astype(np.float32)[()]


def _read_d4rl(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    missing = [k for k in D4RL_KEYS if k not in f]
    if missing:
        raise GailError(
            f"{where}: missing key(s) {missing} (found: {sorted(f.keys())}); "
            f"a D4RL file needs {list(D4RL_KEYS)}"
        )
    return {
        "observations": _read_float(f, "observations", where),
        "actions": _read_float(f, "actions", where),
        "rewards": _read_float(f, "rewards", where).reshape(-1),
        "terminals": f["terminals"][()].astype(bool).reshape(-1),
        "timeouts": f["timeouts"][()].astype(bool).reshape(-1),
    }


def _episode_number(key: str) -> int | None:
    match = re.fullmatch(r"episode_(\d+)", key)
    return int(match.group(1)) if match else None


def _read_minari(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    """Concatenate Minari episode groups; each has T+1 observations for T actions."""
    names = sorted((k for k in f if _episode_number(k) is not None), key=_episode_number)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in D4RL_KEYS}
    for name in names:
        episode = f[name]
        missing = [k for k in MINARI_KEYS if k not in episode]
        if missing:
            raise GailError(f"{where}: {name} is missing key(s) {missing}")
        obs = _read_float(episode, "observations", f"{where} {name}")
        actions = _read_float(episode, "actions", where)
        steps = actions.shape[0]
        if obs.shape[0] != steps + 1:
            raise GailError(
                f"{where}: {name} has {obs.shape[0]} observations for {steps} actions; "
                "the Minari layout needs T+1"
            )
        terminations = episode["terminations"][()].astype(bool).reshape(-1)
        truncations = episode["truncations"][()].astype(bool).reshape(-1)
        if steps and not (terminations[-1] or truncations[-1]):
            truncations[-1] = True  # the recording stopped: treat as a time limit
        parts["observations"].append(obs[:-1])
        parts["actions"].append(actions)
        parts["rewards"].append(episode["rewards"][()].astype(np.float32).reshape(-1))
        parts["terminals"].append(terminations)
        parts["timeouts"].append(truncations)
    if not names:
        raise GailError(f"{where}: no episodes")
    return {k: np.concatenate(v) for k, v in parts.items()}


def episode_ends(terminals: np.ndarray, timeouts: np.ndarray) -> np.ndarray:
    """Exclusive end index of each episode (E,); trailing steps form a last episode."""
    ends = np.flatnonzero(terminals | timeouts) + 1
    n = terminals.shape[0]
    if n and (ends.size == 0 or ends[-1] != n):
        ends = np.append(ends, n)
    return ends


def _validate(
    arrays: dict[str, np.ndarray],
    attrs: dict[str, object],
    where: str,
    path: str,
    obs_dim: int | None,
    act_dim: int | None,
    num_trajectories: int | None,
    env_id: str | None,
) -> ExpertData:
    obs, actions, rewards = arrays["observations"], arrays["actions"], arrays["rewards"]
    n = obs.shape[0]
    if n == 0:
        raise GailError(f"{where}: the dataset is empty (0 transitions)")
    for key, array in arrays.items():
        if array.shape[0] != n:
            raise GailError(f"{where}: '{key}' has {array.shape[0]} rows but observations {n}")
    if obs.ndim != 2 or actions.ndim != 2:
        raise GailError(f"{where}: observations and actions must be 2-D (N, dim) arrays")
    env = f" of env {env_id}" if env_id else ""
    for key, array, expected in (("observations", obs, obs_dim), ("actions", actions, act_dim)):
        if expected is not None and array.shape[1] != expected:
            raise GailError(
                f"{where}: {key} have {array.shape[1]} columns but the {key[:-1]} space{env} "
                f"has {expected}; pass an expert file for this env with dataset.path=<file>"
            )
    for key, array in (("observations", obs), ("actions", actions), ("rewards", rewards)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise GailError(f"{where}: {key} holds {bad} NaN or infinite value(s)")
    terminals, timeouts = arrays["terminals"], arrays["timeouts"].copy()
    ends = episode_ends(terminals, timeouts)
    timeouts[ends[-1] - 1] |= not terminals[ends[-1] - 1]
    if num_trajectories is not None:
        if num_trajectories < 1:
            raise GailError(f"dataset.num_trajectories={num_trajectories} must be >= 1 or null")
        if num_trajectories > ends.size:
            raise GailError(
                f"{where}: dataset.num_trajectories={num_trajectories} but the file holds "
                f"only {ends.size} episodes; use a number up to {ends.size}"
            )
        ends = ends[:num_trajectories]
        cut = int(ends[-1])
        obs, actions, rewards = obs[:cut], actions[:cut], rewards[:cut]
        terminals, timeouts = terminals[:cut], timeouts[:cut]
    starts = np.concatenate([[0], ends[:-1]])
    episode_returns = np.add.reduceat(rewards.astype(np.float64), starts)
    stated = next((attrs[k] for k in MEAN_RETURN_ATTRS if k in attrs), None)
    if stated is not None and num_trajectories is None:
        mean_return = float(stated)  # type: ignore[arg-type]
    else:
        mean_return = float(episode_returns.mean())
    file_env = attrs.get("env_id")
    return ExpertData(
        observations=obs,
        actions=actions,
        rewards=rewards,
        terminals=terminals,
        timeouts=timeouts,
        episode_returns=episode_returns,
        mean_return=mean_return,
        env_id=file_env.decode() if isinstance(file_env, bytes) else file_env,  # type: ignore[arg-type]
        path=path,
    )


def write_d4rl(
    path: str | Path,
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    timeouts: np.ndarray,
    next_observations: np.ndarray | None = None,
    attrs: dict[str, str | int | float | bool] | None = None,
    overwrite: bool = False,
) -> None:
    """Write a gzip-compressed D4RL-layout file atomically (temporary file + rename).

    An existing ``path`` is refused unless ``overwrite``; a failure leaves no file behind
    and any earlier file untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise GailError(f"{path} already exists; pass overwrite=true to replace it")
    columns = {
        "observations": np.asarray(observations, dtype=np.float32),
        "actions": np.asarray(actions, dtype=np.float32),
        "rewards": np.asarray(rewards, dtype=np.float32).reshape(-1),
        "terminals": np.asarray(terminals, dtype=bool).reshape(-1),
        "timeouts": np.asarray(timeouts, dtype=bool).reshape(-1),
    }
    if next_observations is not None:
        columns["next_observations"] = np.asarray(next_observations, dtype=np.float32)
    lengths = {k: v.shape[0] for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        raise GailError(f"{path}: arrays of different lengths {lengths}; nothing written")
    try:
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for key, array in columns.items():
                f.create_dataset(
                    key, data=array, compression="gzip", compression_opts=4, shuffle=True
                )
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
    except PermissionError as exc:
        raise GailError(
            f"{path}: cannot write there ({exc.strerror}); choose another out="
        ) from None
