"""Expert file reading and writing: both layouts, episode handling, refusals, the buffer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from gail_cli.data.experts import episode_ends, load_expert_data, write_d4rl
from gail_cli.errors import GailError

OBS_DIM, ACT_DIM = 3, 2


def _arrays(n: int = 12) -> dict[str, np.ndarray]:
    """12 steps, 4 episodes: 0-2 terminated, 3-6 time limit, 7-8 terminated, 9-11 cut by EOF."""
    rng = np.random.default_rng(0)
    terminals = np.zeros(n, bool)
    timeouts = np.zeros(n, bool)
    terminals[[i for i in (2, 8) if i < n]] = True
    timeouts[[i for i in (6,) if i < n]] = True
    return {
        "observations": rng.normal(size=(n, OBS_DIM)).astype(np.float32),
        "actions": rng.uniform(-1, 1, size=(n, ACT_DIM)).astype(np.float32),
        "rewards": np.arange(n, dtype=np.float32),
        "terminals": terminals,
        "timeouts": timeouts,
    }


RETURNS = [0 + 1 + 2, 3 + 4 + 5 + 6, 7 + 8, 9 + 10 + 11]


def _write_raw(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """A D4RL-layout file written with plain h5py (no validation on the way)."""
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    return path


def _refusal(call: Callable[[], object], path: Path, *fragments: str) -> str:
    """Run ``call``, expect a GailError naming ``path`` on one line with every fragment."""
    with pytest.raises(GailError) as error:
        call()
    message = str(error.value)
    assert str(path) in message, message
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- D4RL ------------------------------------------------------------------------------


def test_d4rl_round_trip(tmp_path: Path) -> None:
    arrays = _arrays()
    path = tmp_path / "d.hdf5"
    attrs = {"env_id": "Hopper-v4", "num_episodes": 4, "deterministic": True}
    write_d4rl(path, **arrays, next_observations=arrays["observations"] + 1, attrs=attrs)
    data = load_expert_data(path, obs_dim=OBS_DIM, act_dim=ACT_DIM)
    for key in ("observations", "actions", "rewards", "terminals"):
        assert np.array_equal(getattr(data, key), arrays[key]), key
    assert data.observations.dtype == np.float32 and data.actions.dtype == np.float32
    assert data.rewards.dtype == np.float32 and data.terminals.dtype == bool
    expected_timeouts = arrays["timeouts"].copy()
    expected_timeouts[-1] = True  # the trailing partial episode ends at the end of data
    assert np.array_equal(data.timeouts, expected_timeouts)
    assert data.episode_returns.dtype == np.float64
    assert data.episode_returns.tolist() == RETURNS
    assert data.mean_return == pytest.approx(np.mean(RETURNS))
    assert data.env_id == "Hopper-v4" and data.path == str(path)
    assert data.num_episodes == 4 and data.num_transitions == 12
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["next_observations"][()], arrays["observations"] + 1)
        for key in ("observations", "actions", "rewards", "terminals", "timeouts"):
            ds = f[key]
            assert (ds.compression, ds.compression_opts, ds.shuffle) == ("gzip", 4, True)
        assert f["observations"].dtype == np.float32 and f["timeouts"].dtype == bool
        assert f.attrs["num_episodes"] == 4 and bool(f.attrs["deterministic"])


def test_float64_inputs_are_stored_and_read_as_float32(tmp_path: Path) -> None:
    arrays = {
        k: (v.astype(np.float64) if v.dtype == np.float32 else v) for k, v in _arrays().items()
    }
    path = _write_raw(tmp_path / "f64.hdf5", arrays)
    data = load_expert_data(path)
    assert data.observations.dtype == np.float32
    assert np.array_equal(data.observations, arrays["observations"].astype(np.float32))


@pytest.mark.parametrize("key", ["expert_mean_return", "mean_return"])
def test_mean_return_attribute_wins_unless_episodes_are_cut(tmp_path: Path, key: str) -> None:
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **_arrays(), attrs={key: 1234.5})
    assert load_expert_data(path).mean_return == 1234.5
    cut = load_expert_data(path, num_trajectories=2)
    assert cut.mean_return == pytest.approx((RETURNS[0] + RETURNS[1]) / 2)


@pytest.mark.parametrize(("n", "length"), [(1, 3), (2, 7), (3, 9), (4, 12)])
def test_num_trajectories_keeps_the_first_episodes(tmp_path: Path, n: int, length: int) -> None:
    arrays = _arrays()
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **arrays)
    data = load_expert_data(path, num_trajectories=n)
    assert data.num_transitions == length and data.num_episodes == n
    assert np.array_equal(data.observations, arrays["observations"][:length])
    assert np.array_equal(data.actions, arrays["actions"][:length])
    assert data.episode_returns.tolist() == RETURNS[:n]
    assert data.mean_return == pytest.approx(np.mean(RETURNS[:n]))
    ended = data.terminals | data.timeouts
    assert ended[-1] and int(ended.sum()) == n  # the cut falls exactly on an episode end
    assert data.terminals[-1] == (n in (1, 3))  # episodes 1 and 3 terminated, 2 timed out


def test_extra_groups_ignored_and_next_observations_optional(tmp_path: Path) -> None:
    path = tmp_path / "d4rl.hdf5"
    with h5py.File(path, "w") as f:
        for key, value in _arrays().items():
            f[key] = value
        f["infos/qpos"] = np.zeros((12, 4))
        f["infos/action_log_probs"] = np.zeros(12)
        f["metadata/algorithm"] = "SAC"
        f.attrs["env_id"] = np.bytes_(b"Walker2d-v4")
    data = load_expert_data(path, obs_dim=OBS_DIM, act_dim=ACT_DIM)
    assert data.num_transitions == 12 and data.num_episodes == 4
    assert data.env_id == "Walker2d-v4"


def test_column_vectors_and_other_env_id_are_accepted(tmp_path: Path) -> None:
    arrays = _arrays()
    arrays["rewards"] = arrays["rewards"][:, None]  # (N, 1), as some D4RL exports have
    path = _write_raw(tmp_path / "d.hdf5", {**arrays, "terminals": arrays["terminals"][:, None]})
    with h5py.File(path, "a") as f:
        f.attrs["env_id"] = "HalfCheetah-v4"
    data = load_expert_data(path, env_id="Hopper-v4")  # a differing env id is not refused
    assert data.rewards.shape == (12,) and data.terminals.shape == (12,)
    assert data.env_id == "HalfCheetah-v4"


def test_episode_ends_appends_the_partial_episode() -> None:
    flags = np.array([0, 0, 1, 0, 1], bool)
    none = np.zeros(5, bool)
    assert episode_ends(flags, none).tolist() == [3, 5]
    assert episode_ends(none, none).tolist() == [5]
    assert episode_ends(none, flags).tolist() == [3, 5]
    assert episode_ends(flags[:3], none[:3]).tolist() == [3]


# -- Minari ----------------------------------------------------------------------------


def _minari_episode(
    f: h5py.File, i: int, steps: int, end: str, rng: np.random.Generator
) -> np.ndarray:
    group = f.create_group(f"episode_{i}")
    obs = rng.normal(size=(steps + 1, OBS_DIM))
    group["observations"] = obs
    group["actions"] = rng.uniform(-1, 1, size=(steps, ACT_DIM))
    group["rewards"] = np.full(steps, float(i))
    terminations, truncations = np.zeros(steps, bool), np.zeros(steps, bool)
    if end == "terminated":
        terminations[-1] = True
    elif end == "truncated":
        truncations[-1] = True
    group["terminations"] = terminations
    group["truncations"] = truncations
    return obs


def test_minari_layout_is_read(tmp_path: Path) -> None:
    path = tmp_path / "minari.hdf5"
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        # written out of order: episode_10 must come after episode_2 (numeric sort)
        obs10 = _minari_episode(f, 10, 2, "neither", rng)
        obs0 = _minari_episode(f, 0, 4, "terminated", rng)
        obs2 = _minari_episode(f, 2, 3, "truncated", rng)
        f.attrs["total_episodes"] = 3
    data = load_expert_data(path, obs_dim=OBS_DIM, act_dim=ACT_DIM)
    assert data.num_transitions == 9 and data.num_episodes == 3  # T+1 observations: last dropped
    expected = np.concatenate([obs0[:-1], obs2[:-1], obs10[:-1]]).astype(np.float32)
    assert np.array_equal(data.observations, expected)
    assert data.terminals.tolist() == [False] * 3 + [True] + [False] * 5
    assert data.timeouts.tolist() == [False] * 6 + [True] + [False, True]  # "neither" -> timeout
    assert data.episode_returns.tolist() == [0.0, 6.0, 20.0]
    assert data.env_id is None
    assert load_expert_data(path, num_trajectories=2).num_transitions == 7


def test_minari_dict_observations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dict.hdf5"
    with h5py.File(path, "w") as f:
        _minari_episode(f, 0, 3, "terminated", np.random.default_rng(0))
        del f["episode_0/observations"]
        f["episode_0/observations/achieved_goal"] = np.zeros((4, 2))
        f["episode_0/observations/observation"] = np.zeros((4, 3))
    _refusal(lambda: load_expert_data(path), path, "episode_0/observations", "Dict", "Box")


def test_minari_observation_count_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "short.hdf5"
    with h5py.File(path, "w") as f:
        _minari_episode(f, 0, 3, "terminated", np.random.default_rng(0))
        del f["episode_0/observations"]
        f["episode_0/observations"] = np.zeros((3, OBS_DIM))
    _refusal(lambda: load_expert_data(path), path, "episode_0", "T+1")


def test_minari_per_step_length_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "rewards.hdf5"
    with h5py.File(path, "w") as f:
        _minari_episode(f, 0, 3, "terminated", np.random.default_rng(0))
        del f["episode_0/rewards"]
        f["episode_0/rewards"] = np.zeros(2)
    _refusal(lambda: load_expert_data(path), path, "episode_0/rewards", "has shape (2,)")


def test_minari_missing_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nokey.hdf5"
    with h5py.File(path, "w") as f:
        _minari_episode(f, 0, 3, "terminated", np.random.default_rng(0))
        del f["episode_0/truncations"]
    _refusal(lambda: load_expert_data(path), path, "episode_0", "truncations")


# -- refusals when reading -------------------------------------------------------------


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.hdf5"
    _refusal(lambda: load_expert_data(path), path, "no such file", "dataset.path=")


def test_directory_is_refused(tmp_path: Path) -> None:
    _refusal(lambda: load_expert_data(tmp_path), tmp_path, "is a directory")


def test_non_hdf5_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.hdf5"
    path.write_bytes(b"observations,actions\n1,2\n")
    _refusal(lambda: load_expert_data(path), path, "not an HDF5 file")


def test_truncated_hdf5_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.hdf5"
    write_d4rl(path, **_arrays())
    path.write_bytes(path.read_bytes()[:1000])
    _refusal(lambda: load_expert_data(path), path, "cannot be read")


def test_missing_key_is_named_with_the_keys_found(tmp_path: Path) -> None:
    arrays = _arrays()
    del arrays["timeouts"]
    path = _write_raw(tmp_path / "nokey.hdf5", arrays)
    _refusal(lambda: load_expert_data(path), path, "missing key(s) ['timeouts']", "found: actions")


def test_file_of_neither_layout_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "other.hdf5", {"states": np.zeros((3, 2))})
    _refusal(lambda: load_expert_data(path), path, "neither D4RL", "found keys: states")


def test_text_dataset_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "text.hdf5", {**_arrays(), "rewards": np.array([b"x"] * 12)})
    _refusal(lambda: load_expert_data(path), path, "'rewards'", "expected numbers")


def test_length_mismatch_is_refused(tmp_path: Path) -> None:
    arrays = _arrays()
    arrays["rewards"] = arrays["rewards"][:5]
    path = _write_raw(tmp_path / "len.hdf5", arrays)
    _refusal(lambda: load_expert_data(path), path, "'rewards' has 5 rows but 'observations' has 12")


def test_observation_dim_mismatch_names_the_env(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "dims.hdf5", _arrays())
    message = _refusal(
        lambda: load_expert_data(path, obs_dim=17, act_dim=ACT_DIM, env_id="Hopper-v4"),
        path,
        "observations have 3 columns",
        "Hopper-v4",
        "has 17",
        "dataset.path=",
    )
    assert "actions" not in message.split(";")[0].split(":")[-1]


def test_action_dim_mismatch_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "dims.hdf5", _arrays())
    _refusal(
        lambda: load_expert_data(path, obs_dim=OBS_DIM, act_dim=6),
        path,
        "actions have 2 columns",
        "has 6",
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("observations", np.nan, "observations holds 1 NaN or infinite value(s) (1 NaN, 0 inf"),
        ("actions", np.inf, "actions holds 1 NaN or infinite value(s) (0 NaN, 1 inf"),
        ("rewards", -np.inf, "rewards holds 1 NaN or infinite value(s) (0 NaN, 1 inf"),
    ],
)
def test_non_finite_values_are_refused(
    tmp_path: Path, key: str, value: float, expected: str
) -> None:
    arrays = _arrays()
    arrays[key].reshape(-1)[4] = value  # one element, whatever the array's shape
    path = _write_raw(tmp_path / "nan.hdf5", arrays)
    _refusal(lambda: load_expert_data(path), path, expected)


def test_empty_dataset_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "empty.hdf5", _arrays(n=0))
    _refusal(lambda: load_expert_data(path), path, "the dataset is empty (0 transitions)")


def test_one_dimensional_observations_are_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "flat.hdf5", {**_arrays(), "observations": np.zeros(12)})
    _refusal(lambda: load_expert_data(path), path, "'observations' has shape (12,)")


@pytest.mark.parametrize("n", [5, 99])
def test_too_many_trajectories_are_refused(tmp_path: Path, n: int) -> None:
    path = _write_raw(tmp_path / "d.hdf5", _arrays())
    _refusal(
        lambda: load_expert_data(path, num_trajectories=n),
        path,
        f"dataset.num_trajectories={n} but the file holds only 4 episodes",
    )


@pytest.mark.parametrize("n", [0, -1])
def test_non_positive_trajectories_are_refused(tmp_path: Path, n: int) -> None:
    path = _write_raw(tmp_path / "d.hdf5", _arrays())
    _refusal(lambda: load_expert_data(path, num_trajectories=n), path, "positive integer")


def test_non_numeric_mean_return_attribute_is_refused(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "d.hdf5", _arrays())
    with h5py.File(path, "a") as f:
        f.attrs["expert_mean_return"] = "lots"
    _refusal(lambda: load_expert_data(path), path, "expert_mean_return", "not a finite number")


# -- writing ---------------------------------------------------------------------------


def test_existing_output_is_kept_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_d4rl(path, **_arrays())
    before = path.read_bytes()
    _refusal(lambda: write_d4rl(path, **_arrays(n=20)), path, "already exists", "overwrite=true")
    assert path.read_bytes() == before
    write_d4rl(path, **_arrays(n=20), overwrite=True)
    assert load_expert_data(path).num_transitions == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.hdf5"]


def test_invalid_arrays_are_refused_before_writing(tmp_path: Path) -> None:
    short = {**_arrays(), "rewards": np.zeros(3)}
    nan = _arrays()
    nan["observations"][0, 0] = np.nan
    cases = [
        (short, "different lengths"),
        (nan, "observations hold"),
        (_arrays(n=0), "no transitions"),
        ({**_arrays(), "actions": np.zeros(12)}, "actions have shape (12,)"),
    ]
    for arrays, fragment in cases:
        path = tmp_path / "out" / "new.hdf5"
        _refusal(lambda a=arrays, p=path: write_d4rl(p, **a), path, fragment, "nothing written")
    bad_attr = {"when": object()}
    path = tmp_path / "new.hdf5"
    _refusal(lambda: write_d4rl(path, **_arrays(), attrs=bad_attr), path, "attribute 'when'")
    assert list(tmp_path.rglob("*")) == []


def test_failing_write_leaves_no_temp_file_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old.hdf5"
    write_d4rl(old, **_arrays())
    before = old.read_bytes()
    calls = []
    real = h5py.Group.create_dataset

    def failing(self: h5py.Group, name: str, *args: object, **kwargs: object) -> h5py.Dataset:
        calls.append(name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    new = tmp_path / "new.hdf5"
    _refusal(lambda: write_d4rl(new, **_arrays()), new, "cannot be written", "No space left")
    calls.clear()
    _refusal(lambda: write_d4rl(old, **_arrays(n=20), overwrite=True), old, "cannot be written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.hdf5"]  # no target, no .tmp
    assert old.read_bytes() == before

    def interrupted(self: h5py.Group, name: str, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.Group, "create_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_d4rl(new, **_arrays())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.hdf5"]


def test_missing_parent_is_created_and_blocked_parent_is_refused(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b" / "d.hdf5"
    write_d4rl(nested, **_arrays())
    assert load_expert_data(nested).num_transitions == 12
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    path = blocker / "d.hdf5"
    _refusal(lambda: write_d4rl(path, **_arrays()), path, "cannot be written")
    _refusal(lambda: write_d4rl(tmp_path / "a", **_arrays()), tmp_path / "a", "is a directory")


# -- subsampling ------------------------------------------------------------------------


def _long_episodes(tmp_path: Path, lengths: list[int], terminated: list[bool]) -> Path:
    """Episodes of the given lengths; observation row i holds i (to trace kept rows)."""
    n = sum(lengths)
    ends = np.cumsum(lengths) - 1
    terminals, timeouts = np.zeros(n, bool), np.zeros(n, bool)
    terminals[ends[terminated]] = True
    timeouts[ends[~np.asarray(terminated)]] = True
    path = tmp_path / "long.hdf5"
    write_d4rl(
        path,
        observations=np.repeat(np.arange(n, dtype=np.float32)[:, None], OBS_DIM, axis=1),
        actions=np.zeros((n, ACT_DIM), np.float32),
        rewards=np.ones(n, np.float32),
        terminals=terminals,
        timeouts=timeouts,
    )
    return path


@pytest.mark.parametrize("every", [1, 3, 20])
def test_subsample_keeps_every_nth_pair_from_one_offset_per_episode(
    tmp_path: Path, every: int
) -> None:
    lengths, terminated = [50, 41, 64], [True, False, True]
    path = _long_episodes(tmp_path, lengths, terminated)
    data = load_expert_data(path, subsample=every, seed=7)
    rows = data.observations[:, 0].astype(int)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = episode_ends(data.terminals, data.timeouts)
    assert ends.size == len(lengths) and data.subsample == every
    for e, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        kept = rows[(ends[e - 1] if e else 0) : ends[e]] - start
        offset = kept[0]
        assert 0 <= offset < every
        assert np.array_equal(kept, np.arange(offset, length, every))
        assert data.terminals[ends[e] - 1] == terminated[e]
        assert data.timeouts[ends[e] - 1] != terminated[e]
    # returns stay those of whole episodes (reward 1 per step), not of the kept pairs
    assert data.episode_returns.tolist() == lengths
    assert data.mean_return == pytest.approx(np.mean(lengths))
    assert int(data.terminals.sum() + data.timeouts.sum()) == len(lengths)


def test_subsample_offsets_follow_the_seed_and_compose_with_num_trajectories(
    tmp_path: Path,
) -> None:
    path = _long_episodes(tmp_path, [200] * 6, [False] * 6)
    firsts = {
        seed: tuple(
            load_expert_data(path, subsample=20, seed=seed).observations[::10, 0].astype(int)
        )
        for seed in range(4)
    }
    assert len(set(firsts.values())) > 1  # offsets differ between seeds
    again = load_expert_data(path, subsample=20, seed=2).observations
    assert tuple(again[::10, 0].astype(int)) == firsts[2]  # and repeat for one seed
    cut = load_expert_data(path, num_trajectories=2, subsample=20, seed=2)
    assert cut.num_transitions == 20 and cut.num_episodes == 2
    assert np.array_equal(cut.observations, again[:20])
    assert cut.episode_returns.tolist() == [200.0, 200.0]


@pytest.mark.parametrize(
    ("every", "fragment"),
    [
        (0, "positive integer"),
        (-3, "positive integer"),
        (True, "positive integer"),
        (3, "longer than the shortest kept episode (2 steps); pass a number from 1 to 2"),
    ],
)
def test_bad_subsample_is_refused(tmp_path: Path, every: object, fragment: str) -> None:
    path = _write_raw(tmp_path / "d.hdf5", _arrays())
    _refusal(lambda: load_expert_data(path, subsample=every), path, "dataset.subsample", fragment)  # type: ignore[arg-type]
