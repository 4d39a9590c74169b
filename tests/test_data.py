"""Expert file reading and writing: both layouts, episode handling, refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from gail_cli.data import load_expert_data, write_d4rl
from gail_cli.errors import GailError


def _arrays(n: int = 10, obs_dim: int = 3, act_dim: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    terminals = np.zeros(n, bool)
    timeouts = np.zeros(n, bool)
    terminals[2] = True  # episode 0: steps 0-2, terminated
    timeouts[6] = True  # episode 1: steps 3-6, time limit; episode 2: 7-9, cut by file end
    return {
        "observations": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, size=(n, act_dim)).astype(np.float32),
        "rewards": np.arange(n, dtype=np.float32),
        "terminals": terminals,
        "timeouts": timeouts,
    }


def test_d4rl_round_trip_and_episode_returns(tmp_path: Path) -> None:
    arrays = _arrays()
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **arrays, next_observations=arrays["observations"], attrs={"env_id": "E"})
    data = load_expert_data(path, obs_dim=3, act_dim=2)
    assert np.array_equal(data.observations, arrays["observations"])
    assert np.array_equal(data.actions, arrays["actions"])
    assert data.episode_returns.tolist() == [0 + 1 + 2, 3 + 4 + 5 + 6, 7 + 8 + 9]
    assert data.mean_return == pytest.approx(np.mean([3, 18, 24]))
    assert data.timeouts[-1]  # the trailing partial episode ends as a time limit
    assert data.env_id == "E"
    assert data.num_episodes == 3 and data.num_transitions == 10


def test_mean_return_attribute_wins_unless_episodes_are_cut(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **_arrays(), attrs={"expert_mean_return": 1234.5})
    assert load_expert_data(path).mean_return == 1234.5
    assert load_expert_data(path, num_trajectories=2).mean_return == pytest.approx((3 + 18) / 2)


@pytest.mark.parametrize(("n", "length"), [(1, 3), (2, 7), (3, 10)])
def test_num_trajectories_keeps_the_first_episodes(tmp_path: Path, n: int, length: int) -> None:
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **_arrays())
    data = load_expert_data(path, num_trajectories=n)
    assert data.num_transitions == length and data.num_episodes == n


def test_extra_groups_ignored_and_next_observations_optional(tmp_path: Path) -> None:
    path = tmp_path / "d4rl.hdf5"
    arrays = _arrays()
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
        f["infos/qpos"] = np.zeros((10, 4))
        f["metadata/algorithm"] = "SAC"
    data = load_expert_data(path, obs_dim=3, act_dim=2)
    assert data.num_transitions == 10


def test_minari_layout_is_read(tmp_path: Path) -> None:
    path = tmp_path / "minari.hdf5"
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        for i, (steps, terminated) in enumerate([(4, True), (3, False)]):
            group = f.create_group(f"episode_{i}")
            group["observations"] = rng.normal(size=(steps + 1, 3))
            group["actions"] = rng.uniform(-1, 1, size=(steps, 2))
            group["rewards"] = np.full(steps, float(i + 1))
            terminations = np.zeros(steps, bool)
            truncations = np.zeros(steps, bool)
            (terminations if terminated else truncations)[-1] = True
            group["terminations"] = terminations
            group["truncations"] = truncations
        first_obs = f["episode_0/observations"][()]
    data = load_expert_data(path, obs_dim=3, act_dim=2)
    assert data.num_transitions == 7  # T+1 observations: the last is dropped
    assert np.allclose(data.observations[:4], first_obs[:4])
    assert data.terminals.tolist() == [False, False, False, True, False, False, False]
    assert data.timeouts.tolist() == [False] * 6 + [True]
    assert data.episode_returns.tolist() == [4.0, 6.0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.update(rewards=a["rewards"][:5]), "'rewards' has 5 rows but observations 10"),
        (lambda a: a["actions"].__setitem__((0, 0), np.inf), "actions holds 1 NaN or infinite"),
    ],
)
def test_inconsistent_files_are_refused(tmp_path: Path, mutate, message: str) -> None:
    arrays = _arrays()
    mutate(arrays)
    path = tmp_path / "bad.hdf5"
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    with pytest.raises(GailError, match=message) as error:
        load_expert_data(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_existing_output_is_kept_and_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **_arrays())
    before = path.read_bytes()
    with pytest.raises(GailError, match="already exists; pass overwrite=true"):
        write_d4rl(path, **_arrays())
    assert path.read_bytes() == before
    bad = _arrays()
    bad["rewards"] = bad["rewards"][:3]
    with pytest.raises(GailError, match="different lengths"):
        write_d4rl(tmp_path / "new.hdf5", **bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.hdf5"]
    write_d4rl(path, **_arrays(n=12), overwrite=True)
    assert load_expert_data(path).num_transitions == 12
