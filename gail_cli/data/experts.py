"""Expert demonstrations: HDF5 reading (D4RL and Minari layouts), writing, validation.

Shapes: N transitions, E episodes, obs_dim / act_dim as the env's observation and action
spaces. Observations and actions are in the env's own units (raw observations, actions as
the env received them, i.e. within the action bounds); rewards are the env's per-step
rewards.

Arrays are read whole (one read per dataset, converted to float32 by HDF5 during the
read), never per transition, and nothing is ever unpickled. Every refusal is a one-line
:class:`GailError` that names the file, the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gail_cli.data.atomic import atomic_path
from gail_cli.errors import GailError, first_sentence, positive_int, refuse_to_replace

D4RL_KEYS = ("observations", "actions", "rewards", "terminals", "timeouts")
MINARI_KEYS = ("observations", "actions", "rewards", "terminations", "truncations")
MEAN_RETURN_ATTRS = ("expert_mean_return", "mean_return")
FIX_PATH = "pass an expert file for this env with dataset.path=<file>"
AttrValue = str | int | float | bool


@dataclass(frozen=True)
class ExpertData:
    """Expert transitions, episodes laid end to end in file order.

    observations: (N, obs_dim) float32, the state each action was taken in.
    actions: (N, act_dim) float32, as the env received them; for a Discrete action space
        of act_dim choices, the file's integer indices as one-hot rows.
    rewards: (N,) float32, the env's reward of each step.
    terminals: (N,) bool, True at the last step of an episode ended by termination.
    timeouts: (N,) bool, True at the last step of an episode ended by truncation (time
        limit) or by the end of the recorded data.
    episode_returns: (E,) float64, the sum of rewards of each kept episode, over all of
        its steps (also when the pairs are subsampled).
    subsample: keep every this many pairs of each episode (None: every pair). When set,
        the arrays hold only the kept pairs, and the last kept pair of each episode carries
        the episode's terminal / timeout flag, so episodes can still be told apart.
    mean_return: the expert's mean episode return used to normalize scores: the file's
        ``expert_mean_return`` (or ``mean_return``) attribute when present and all
        episodes are kept, else ``episode_returns.mean()``.
    env_id: the file's ``env_id`` attribute, None when absent.
    path: the file read.
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
    subsample: int | None = None

    @property
    def num_transitions(self) -> int:
        """N, the number of (observation, action) pairs."""
        return int(self.rewards.shape[0])

    @property
    def num_episodes(self) -> int:
        """E, the number of kept episodes (a trailing partial episode counts)."""
        return int(self.episode_returns.shape[0])


# --------------------------------------------------------------------------- reading


def load_expert_data(
    path: str | Path,
    obs_dim: int | None = None,
    act_dim: int | None = None,
    num_trajectories: int | None = None,
    env_id: str | None = None,
    subsample: int | None = None,
    seed: int = 0,
    discrete: bool = False,
) -> ExpertData:
    """Read and validate an expert file in the D4RL or Minari layout (detected).

    obs_dim / act_dim: the env's dimensions, checked against the file's when given.
    discrete: the env's actions are Discrete(act_dim): the file must hold integer
    indices in [0, act_dim), (N,) or (N, 1); they are returned one-hot.
    num_trajectories: keep only the first this many episodes (None: all).
    env_id: the env the data is for; it only names the env in error messages (a file
    whose ``env_id`` attribute differs is not refused: the caller may warn).
    subsample: then keep every this many (observation, action) pairs of each kept
        episode, from a random offset in [0, subsample) per episode (the GAIL paper's
        setting); None keeps every pair. The offsets are drawn from ``seed``.
    """
    path = Path(path)
    where = f"expert file {path}"
    if subsample is not None:
        positive_int(subsample, "dataset.subsample", where, ", or null to keep every pair")
    if num_trajectories is not None:
        positive_int(
            num_trajectories, "dataset.num_trajectories", where, ", or null to use every episode"
        )
    if path.is_dir():
        raise GailError(f"{where}: is a directory; pass an .hdf5 file with dataset.path=<file>")
    if not path.is_file():
        raise GailError(f"{where}: no such file; pass an existing file with dataset.path=<file>")
    if not os.access(path, os.R_OK):
        raise GailError(f"{where}: permission denied; make it readable or copy it elsewhere")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise GailError(
            f"{where}: cannot be opened ({first_sentence(exc)}); check its permissions"
        ) from None
    if not is_hdf5:
        raise GailError(
            f"{where}: not an HDF5 file; pass a D4RL or Minari .hdf5 file with dataset.path=<file>"
        )
    try:
        with h5py.File(path, "r") as f:
            keys = set(f.keys())
            if keys & set(D4RL_KEYS):
                arrays = _read_d4rl(f, where)
            elif any(_episode_number(k) is not None for k in keys):
                arrays = _read_minari(f, where)
            else:
                raise GailError(
                    f"{where}: neither D4RL (datasets {', '.join(D4RL_KEYS)}) nor Minari "
                    f"(groups episode_<i>); found keys: {_listing(keys)}"
                )
            attrs = {k: f.attrs[k] for k in f.attrs}
    except (OSError, KeyError, RuntimeError) as exc:
        raise GailError(
            f"{where}: cannot be read ({first_sentence(exc)}); the file may be truncated or corrupt"
        ) from None
    if discrete:
        if act_dim is None:
            raise ValueError("discrete=True needs act_dim, the number of actions")
        arrays["actions"] = _one_hot_actions(arrays["actions"], act_dim, where, env_id)
    else:
        arrays["actions"] = arrays["actions"].astype(np.float32, copy=False)
    data = _validate(arrays, attrs, where, str(path), obs_dim, act_dim, num_trajectories, env_id)
    return data if subsample is None else subsample_pairs(data, subsample, seed, where)


def subsample_pairs(data: ExpertData, every: int, seed: int, where: str = "") -> ExpertData:
    """Keep every ``every``-th pair of each episode, from a random offset per episode.

    Episode e of length L_e keeps steps o_e, o_e + every, ... < L_e with o_e drawn
    uniformly from [0, every) by ``numpy.random.default_rng(seed)`` (one draw per episode,
    in file order). Each episode's terminal / timeout flag moves to its last kept pair;
    episode_returns and mean_return are unchanged (full episodes). ``every`` larger than
    the shortest episode would leave an episode with no pair and is refused.
    """
    ends = episode_ends(data.terminals, data.timeouts)
    starts = np.concatenate(([0], ends[:-1]))
    lengths = ends - starts
    shortest = int(lengths.min())
    if every > shortest:
        raise GailError(
            f"{where or data.path}: dataset.subsample={every} is longer than the shortest "
            f"kept episode ({shortest} steps); pass a number from 1 to {shortest}, or null"
        )
    offsets = np.random.default_rng(seed).integers(0, every, size=lengths.size)
    pieces = [np.arange(s + o, e, every) for s, e, o in zip(starts, ends, offsets, strict=True)]
    keep = np.concatenate(pieces)
    last = np.cumsum([p.size for p in pieces]) - 1
    terminals = np.zeros(keep.size, dtype=bool)
    timeouts = np.zeros(keep.size, dtype=bool)
    terminals[last] = data.terminals[ends - 1]
    timeouts[last] = ~terminals[last]
    return dataclasses.replace(
        data,
        observations=data.observations[keep],
        actions=data.actions[keep],
        rewards=data.rewards[keep],
        terminals=terminals,
        timeouts=timeouts,
        subsample=every,
    )


def _one_hot_actions(
    actions: np.ndarray, num_actions: int, where: str, env_id: str | None
) -> np.ndarray:
    """Integer action indices (N,) or (N, 1) -> one-hot rows (N, num_actions) float32.

    Float actions (a continuous-action file) and indices outside [0, num_actions) are
    refused with one line.
    """
    env = f"env {env_id}" if env_id else "the env"
    choices = f"{num_actions} discrete actions"
    if actions.dtype.kind not in "iu":
        raise GailError(
            f"{where}: actions are {actions.dtype} values (continuous actions) but {env} has "
            f"{choices}; pass a file of integer action indices (gail-collect writes one) "
            "with dataset.path=<file>"
        )
    if actions.ndim == 2 and actions.shape[1] == 1:
        actions = actions[:, 0]
    if actions.ndim != 1:
        raise GailError(
            f"{where}: actions have shape {actions.shape}, but {env} has {choices}: "
            "expected one integer index per step, (N,) or (N, 1)"
        )
    bad = (actions < 0) | (actions >= num_actions)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise GailError(
            f"{where}: action index {int(actions[first])} at row {first} is out of range for "
            f"{env}'s {num_actions} discrete actions (valid: 0 to {num_actions - 1}); pass "
            "the dataset for this env with dataset.path=<file>"
        )
    one_hot = np.zeros((actions.shape[0], num_actions), dtype=np.float32)
    one_hot[np.arange(actions.shape[0]), actions] = 1.0
    return one_hot


def episode_ends(terminals: np.ndarray, timeouts: np.ndarray) -> np.ndarray:
    """Exclusive end index of each episode, (E,) int64, strictly increasing.

    An episode ends at a step whose terminal or timeout flag is set (both (N,) bool);
    steps after the last such step form a final partial episode ending at N.
    """
    ends = np.flatnonzero(terminals | timeouts) + 1
    n = terminals.shape[0]
    if n and (ends.size == 0 or ends[-1] != n):
        ends = np.append(ends, n)
    return ends.astype(np.int64, copy=False)


def _listing(keys: Any) -> str:
    names = sorted(str(k) for k in keys)
    shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    return shown or "none"


def _dataset(group: h5py.Group, key: str, where: str, prefix: str = "") -> h5py.Dataset:
    """The numeric dataset ``group[key]``; a group (Dict space) or text is refused.

    prefix: the group's path in the file for messages ("" for the root, "episode_3/").
    """
    name = f"{prefix}{key}"
    obj = group[key]
    if isinstance(obj, h5py.Group):
        raise GailError(
            f"{where}: '{name}' is a group of keys (a Dict space); only Box (array) "
            "observations and actions are supported: flatten them into one array"
        )
    if not isinstance(obj, h5py.Dataset) or obj.dtype.kind not in "biuf":
        raise GailError(f"{where}: '{name}' holds {obj.dtype} values, expected numbers")
    return obj


def _read_float(ds: h5py.Dataset) -> np.ndarray:
    """The whole dataset as float32, converted by HDF5 while reading (no float64 copy)."""
    return np.asarray(ds.astype(np.float32)[()])


def _column(array: np.ndarray, name: str, where: str) -> np.ndarray:
    """A per-step array as (N,): accepts (N,) or (N, 1)."""
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim != 1:
        raise GailError(f"{where}: '{name}' has shape {array.shape}, expected (N,) (one per step)")
    return array


def _read_actions(ds: h5py.Dataset) -> np.ndarray:
    """Actions as stored: integer indices as int64, anything else as float32."""
    if ds.dtype.kind in "iu":
        return np.asarray(ds[()]).astype(np.int64, copy=False)
    return _read_float(ds)


def _read_flags(ds: h5py.Dataset, name: str, where: str) -> np.ndarray:
    return _column(np.asarray(ds[()]).astype(bool, copy=False), name, where)


def _read_d4rl(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    """The flat D4RL datasets; other keys (infos/, metadata/, next_observations) ignored."""
    missing = [k for k in D4RL_KEYS if k not in f]
    if missing:
        raise GailError(
            f"{where}: missing key(s) {missing} (found: {_listing(f.keys())}); "
            f"a D4RL file needs {', '.join(D4RL_KEYS)}"
        )
    ds = {k: _dataset(f, k, where) for k in D4RL_KEYS}
    return {
        "observations": _read_float(ds["observations"]),
        "actions": _read_actions(ds["actions"]),
        "rewards": _column(_read_float(ds["rewards"]), "rewards", where),
        "terminals": _read_flags(ds["terminals"], "terminals", where),
        "timeouts": _read_flags(ds["timeouts"], "timeouts", where),
    }


def _episode_number(key: str) -> int | None:
    match = re.fullmatch(r"episode_(\d+)", key)
    return int(match.group(1)) if match else None


def _minari_datasets(
    f: h5py.File, name: str, keys: tuple[str, ...], where: str
) -> list[h5py.Dataset]:
    """Datasets ``keys`` of episode group ``name``, checked for presence and number type."""
    group = f[name]
    if not isinstance(group, h5py.Group):
        raise GailError(f"{where}: '{name}' is not a group; a Minari episode must be one")
    try:
        return [_dataset(group, k, where, prefix=f"{name}/") for k in keys]
    except KeyError:
        missing = [k for k in MINARI_KEYS if k not in group]
        if not missing:
            raise
        raise GailError(
            f"{where}: '{name}' is missing key(s) {missing} (found: {_listing(group.keys())}); "
            f"a Minari episode needs {', '.join(MINARI_KEYS)}"
        ) from None


def _read_minari(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    """Concatenate Minari episode groups (by number) into D4RL-style arrays.

    Each episode has T+1 observations for T actions; the last observation (the state after
    the final action) is dropped. The last step of each episode is marked a timeout unless
    it is a termination. A first pass reads every episode's shapes; the second reads the
    arrays straight into preallocated float32 outputs (no per-episode copies to
    concatenate). Datasets are opened one episode at a time: HDF5 holds ~20 KB per open
    dataset, which would add up over thousands of episodes.
    """
    numbered = {k: number for k in f if (number := _episode_number(k)) is not None}
    names = sorted(numbered, key=numbered.__getitem__)
    lengths: list[int] = []
    obs_tail: tuple[int, ...] | None = None
    act_tail: tuple[int, ...] | None = None
    act_type: type[np.floating] | type[np.integer] = np.float32
    for name in names:
        obs_ds, act_ds = _minari_datasets(f, name, ("observations", "actions"), where)
        obs_shape, act_shape = obs_ds.shape, act_ds.shape
        if len(act_shape) < 1 or len(obs_shape) < 1:
            raise GailError(f"{where}: '{name}' has scalar observations or actions")
        steps = act_shape[0]
        if obs_shape[0] != steps + 1:
            raise GailError(
                f"{where}: '{name}' has {obs_shape[0]} observations for {steps} actions; "
                "the Minari layout needs T+1 observations for T actions"
            )
        if act_tail is None and act_ds.dtype.kind in "iu":
            act_type = np.int64  # discrete actions: indices, read as integers
        obs_tail = obs_tail if obs_tail is not None else obs_shape[1:]
        act_tail = act_tail if act_tail is not None else act_shape[1:]
        if obs_shape[1:] != obs_tail or act_shape[1:] != act_tail:
            raise GailError(
                f"{where}: '{name}' has observations {obs_shape[1:]} / actions {act_shape[1:]} "
                f"per step but earlier episodes have {obs_tail} / {act_tail}"
            )
        lengths.append(steps)
    total = sum(lengths)
    obs = np.empty((total, *(obs_tail or ())), dtype=np.float32)
    actions = np.empty((total, *(act_tail or ())), dtype=act_type)
    rewards = np.empty(total, dtype=np.float32)
    terminals = np.empty(total, dtype=bool)
    timeouts = np.empty(total, dtype=bool)
    start = 0
    for name, steps in zip(names, lengths, strict=True):
        obs_ds, act_ds, rew_ds, term_ds, trunc_ds = _minari_datasets(f, name, MINARI_KEYS, where)
        for key, ds in (("rewards", rew_ds), ("terminations", term_ds), ("truncations", trunc_ds)):
            if ds.shape not in ((steps,), (steps, 1)):
                raise GailError(
                    f"{where}: '{name}/{key}' has shape {ds.shape} but the episode has {steps} "
                    "actions; each per-step array needs one entry per action"
                )
        if steps == 0:
            continue
        stop = start + steps
        obs_ds.read_direct(obs, np.s_[0:steps], np.s_[start:stop])
        act_ds.read_direct(actions, np.s_[0:steps], np.s_[start:stop])
        rewards[start:stop] = _read_float(rew_ds).reshape(steps)
        terminals[start:stop] = np.asarray(term_ds[()]).reshape(steps) != 0
        timeouts[start:stop] = np.asarray(trunc_ds[()]).reshape(steps) != 0
        start = stop
    ends = np.cumsum(lengths, dtype=np.int64)
    last = ends[np.asarray(lengths, dtype=np.int64) > 0] - 1
    timeouts[last] |= ~terminals[last]  # the recording stopped there: a time limit
    return {
        "observations": obs,
        "actions": actions,
        "rewards": rewards,
        "terminals": terminals,
        "timeouts": timeouts,
    }


def _stated_mean_return(attrs: dict[str, Any], where: str) -> float | None:
    """The file's stated expert mean return (attribute), None when it states none."""
    for key in MEAN_RETURN_ATTRS:
        if key not in attrs:
            continue
        value = np.asarray(attrs[key])
        try:
            number = float(value.reshape(()).item()) if value.size == 1 else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise GailError(
                f"{where}: attribute {key}={attrs[key]!r} is not a finite number; "
                "fix or delete the attribute"
            )
        return number
    return None


def _attr_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _validate(
    arrays: dict[str, np.ndarray],
    attrs: dict[str, Any],
    where: str,
    path: str,
    obs_dim: int | None,
    act_dim: int | None,
    num_trajectories: int | None,
    env_id: str | None,
) -> ExpertData:
    """Check shapes and values, split episodes, keep the first num_trajectories."""
    obs, actions, rewards = arrays["observations"], arrays["actions"], arrays["rewards"]
    terminals, timeouts = arrays["terminals"], arrays["timeouts"]
    for key, array in (("observations", obs), ("actions", actions)):
        if array.ndim != 2:
            raise GailError(
                f"{where}: '{key}' has shape {array.shape}, expected (N, {key[:3]}_dim); "
                "only flat Box spaces are supported"
            )
    n = obs.shape[0]
    for key, array in arrays.items():
        if array.shape[0] != n:
            raise GailError(
                f"{where}: '{key}' has {array.shape[0]} rows but 'observations' has {n}; "
                "every array needs one row per transition: re-create the file"
            )
    if n == 0:
        raise GailError(f"{where}: the dataset is empty (0 transitions); {FIX_PATH}")
    env = f" of env {env_id}" if env_id else ""
    for key, array, expected in (("observations", obs, obs_dim), ("actions", actions, act_dim)):
        if expected is not None and array.shape[1] != expected:
            raise GailError(
                f"{where}: {key} have {array.shape[1]} columns but the {key[:-1]} space{env} "
                f"has {expected}; pass the dataset for this env with dataset.path=<file>"
            )
    for key, array in (("observations", obs), ("actions", actions), ("rewards", rewards)):
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            nan = int(np.count_nonzero(np.isnan(array)))
            raise GailError(
                f"{where}: {key} holds {bad} NaN or infinite value(s) ({nan} NaN, "
                f"{bad - nan} infinite); clean the file or {FIX_PATH}"
            )
    ends = episode_ends(terminals, timeouts)
    last = int(ends[-1]) - 1
    timeouts[last] |= not terminals[last]  # a trailing partial episode ends at end of data
    if num_trajectories is not None:
        if num_trajectories > ends.size:
            raise GailError(
                f"{where}: dataset.num_trajectories={num_trajectories} but the file holds "
                f"only {ends.size} episodes; pass a number up to {ends.size}, or null"
            )
        ends = ends[:num_trajectories]
        cut = int(ends[-1])
        if cut < n:  # copies, so the dropped rows are freed
            obs, actions, rewards = obs[:cut].copy(), actions[:cut].copy(), rewards[:cut].copy()
            terminals, timeouts = terminals[:cut].copy(), timeouts[:cut].copy()
    starts = np.concatenate(([0], ends[:-1]))
    episode_returns = np.add.reduceat(rewards, starts, dtype=np.float64)
    stated = _stated_mean_return(attrs, where) if num_trajectories is None else None
    mean_return = stated if stated is not None else float(episode_returns.mean())
    return ExpertData(
        observations=obs,
        actions=actions,
        rewards=rewards,
        terminals=terminals,
        timeouts=timeouts,
        episode_returns=episode_returns,
        mean_return=mean_return,
        env_id=_attr_str(attrs.get("env_id")),
        path=path,
    )


# --------------------------------------------------------------------------- writing


def _action_column(actions: np.ndarray, where: str) -> np.ndarray:
    """Float actions (N, act_dim) as float32; integer indices (N,) as int64."""
    if actions.dtype.kind in "iu":
        actions = _column(actions.astype(np.int64, copy=False), "actions", where)
    else:
        actions = actions.astype(np.float32, copy=False)
        if actions.ndim != 2:
            raise GailError(
                f"{where}: actions have shape {actions.shape}, expected (N, dim); nothing written"
            )
    return actions


def write_d4rl(
    path: str | Path,
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    timeouts: np.ndarray,
    next_observations: np.ndarray | None = None,
    attrs: dict[str, AttrValue] | None = None,
    overwrite: bool = False,
) -> None:
    """Write a D4RL-layout file atomically (temporary file beside it, then rename).

    observations (N, obs_dim), actions (N, act_dim), rewards (N,), next_observations
    (N, obs_dim) are stored as float32, except integer actions (N,) (indices of a
    Discrete space), stored as int64; terminals / timeouts (N,) as bool; every dataset
    gzip-compressed (level 4, shuffle). attrs become file attributes (str, int, float,
    bool), e.g. ``env_id`` and ``expert_mean_return``.

    Arrays that :func:`load_expert_data` would refuse (lengths, shapes, empty, NaN / inf)
    are refused before anything is written. An existing ``path`` is refused unless
    ``overwrite``; a missing parent directory is created; a failure leaves no file behind
    and any earlier file untouched.
    """
    path = Path(path)
    where = f"output file {path}"
    if path.is_dir():
        raise GailError(f"{where}: is a directory; pass a file path to write")
    refuse_to_replace(path, overwrite, where)
    columns = {
        "observations": np.asarray(observations, dtype=np.float32),
        "actions": _action_column(np.asarray(actions), where),
        "rewards": _column(np.asarray(rewards, dtype=np.float32), "rewards", where),
        "terminals": _column(np.asarray(terminals, dtype=bool), "terminals", where),
        "timeouts": _column(np.asarray(timeouts, dtype=bool), "timeouts", where),
    }
    if next_observations is not None:
        columns["next_observations"] = np.asarray(next_observations, dtype=np.float32)
    for key in ("observations", "next_observations"):
        if key in columns and columns[key].ndim != 2:
            raise GailError(
                f"{where}: {key} have shape {columns[key].shape}, expected (N, dim); "
                "nothing written"
            )
    lengths = {k: int(v.shape[0]) for k, v in columns.items()}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise GailError(f"{where}: arrays of different lengths ({shown}); nothing written")
    if lengths["observations"] == 0:
        raise GailError(f"{where}: no transitions to write (0 rows); nothing written")
    if "next_observations" in columns and (
        columns["next_observations"].shape != columns["observations"].shape
    ):
        raise GailError(
            f"{where}: next_observations have shape {columns['next_observations'].shape} but "
            f"observations {columns['observations'].shape}; nothing written"
        )
    for key in ("observations", "actions", "rewards", "next_observations"):
        if key in columns:
            bad = columns[key].size - int(np.count_nonzero(np.isfinite(columns[key])))
            if bad:
                raise GailError(
                    f"{where}: {key} hold {bad} NaN or infinite value(s); nothing written"
                )
    for key, value in (attrs or {}).items():
        if not isinstance(value, str | int | float | bool | np.integer | np.floating | np.bool_):
            raise GailError(
                f"{where}: attribute {key!r} is a {type(value).__name__}; attributes must be "
                "str, int, float or bool"
            )
    try:
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for key, array in columns.items():
                f.create_dataset(
                    key, data=array, compression="gzip", compression_opts=4, shuffle=True
                )
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            f.flush()
    except OSError as exc:
        raise GailError(
            f"{where}: cannot be written ({first_sentence(exc)}); choose another location or free "
            "some disk space"
        ) from None
