"""dataset.minari_id: datasets found by id in Minari's local store, never downloaded."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import HALFCHEETAH_ACT, HALFCHEETAH_OBS, TINY, one_error_line, run_cli
from omegaconf import OmegaConf

from gail_cli.data.minari_store import local_dataset_ids, resolve_minari_id

DATASET_ID = "test/halfcheetah/tiny-v0"


def _write_minari_store(root: Path, dataset_id: str, episodes: int = 3, steps: int = 50) -> Path:
    """A tiny dataset in Minari's layout: <root>/<id>/data/main_data.hdf5, episode groups."""
    path = root / dataset_id / "data" / "main_data.hdf5"
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for i in range(episodes):
            group = f.create_group(f"episode_{i}")
            group["observations"] = rng.normal(size=(steps + 1, HALFCHEETAH_OBS))
            group["actions"] = rng.uniform(-1, 1, size=(steps, HALFCHEETAH_ACT))
            group["rewards"] = np.full(steps, 2.0)
            group["terminations"] = np.zeros(steps, dtype=bool)
            group["truncations"] = np.arange(steps) == steps - 1
        f.attrs["dataset_id"] = dataset_id
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "minari"
    _write_minari_store(root, DATASET_ID)
    _write_minari_store(root, "other-v1")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def test_ids_resolve_in_the_store_of_minari_datasets_path(store: Path) -> None:
    assert local_dataset_ids(store) == ["other-v1", DATASET_ID]
    assert resolve_minari_id(DATASET_ID) == store / DATASET_ID / "data" / "main_data.hdf5"
    assert resolve_minari_id("other-v1").is_file()


def test_the_default_store_is_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    _write_minari_store(tmp_path / ".minari" / "datasets", DATASET_ID)
    assert resolve_minari_id(DATASET_ID).is_relative_to(tmp_path / ".minari" / "datasets")


def test_gail_train_reads_a_minari_id_and_saves_the_file_it_read(
    store: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = run_cli("gail-train", f"dataset.minari_id={DATASET_ID}", *TINY, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-3000:]
    data_file = store / DATASET_ID / "data" / "main_data.hdf5"
    assert f"expert: {data_file} (3 episodes, 150 transitions, mean return 100.0)" in (
        result.stdout + result.stderr
    )
    saved = OmegaConf.load(run / ".hydra" / "config.yaml")
    assert saved.dataset.minari_id == DATASET_ID
    # gail-eval normalizes by the same file: the checkpoint's config names it
    result = run_cli("gail-eval", f"checkpoint={run}", "episodes=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(expert 100.0)" in result.stdout


def test_unknown_id_lists_the_store_and_path_conflict_is_refused(
    store: Path, tmp_path: Path, expert_file: Path
) -> None:
    line = one_error_line(
        run_cli("gail-train", "dataset.minari_id=mujoco/hopper/expert-v0", *TINY), "gail-train"
    )
    assert f"not in Minari's local store {store}" in line
    assert f"datasets there: other-v1, {DATASET_ID}" in line
    assert "does not download" in line
    line = one_error_line(
        run_cli(
            "gail-train", f"dataset.minari_id={DATASET_ID}", f"dataset.path={expert_file}", *TINY
        ),
        "gail-train",
    )
    assert "pass only one of them" in line
    line = one_error_line(run_cli("gail-train", "dataset.minari_id=../../etc-v1"), "gail-train")
    assert "is not a Minari dataset id" in line
