"""End-to-end runs of each console script on tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import TINY, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.data.experts import load_expert_data

REQUIRED_TAGS = {
    *(
        f"train/{name}"
        for name in (
            "train_time",
            "smoothed_loss",
            "loss",
            "actor_loss",
            "vf_loss",
            "ent_loss",
            "gradient_steps",
            "disc_loss",
            "acc_pi",
            "acc_exp",
            # PPO diagnostics (hand-derived path here: HalfCheetah's Gaussian actor)
            "approx_kl",
            "clip_fraction",
            "explained_variance",
            "entropy",
            "action_std",
            "disc_logit_expert",
            "disc_logit_policy",
        )
    ),
    "rollout/return",
    "rollout/disc_reward",
    "eval/return",
    "eval/normalized_return",
    "time/env_steps_per_s",
}
METRIC_KEYS = {
    "env_steps",
    "eval/return",
    "eval/return_std",
    "eval/normalized_return",
    "time/env_steps_per_s",
    "time/wall_s",
}


def _scalar_tags(run_dir: Path) -> set[str]:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return set(events.Tags()["scalars"])


def test_gail_train_writes_every_tag_a_checkpoint_and_metrics(
    tmp_path: Path, expert_file: Path
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli("gail-train", f"dataset.path={expert_file}", *TINY, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _scalar_tags(run_dir) >= REQUIRED_TAGS
    assert "behavioral cloning: 20 steps on 300 expert transitions" in result.stdout
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.pt", env_id="HalfCheetah-v4")
    assert checkpoint["env_steps"] == 2048
    assert {"actor", "critic", "discriminator", "normalizer", "ppo"} <= set(checkpoint["agent"])
    assert (run_dir / "checkpoints" / "best.pt").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) >= METRIC_KEYS
    assert metrics["env_steps"] == 2048
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert "Traceback" not in result.stderr


def test_subsampled_pairs_alone_feed_the_clone_and_the_expert_statistics(
    tmp_path: Path, expert_file: Path
) -> None:
    run_dir = tmp_path / "run"
    picks = ["dataset.num_trajectories=2", "dataset.subsample=20", "seed=3"]
    result = run_cli(
        "gail-train", f"dataset.path={expert_file}", *TINY, *picks, f"hydra.run.dir={run_dir}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "behavioral cloning: 20 steps on 10 expert transitions" in result.stdout
    kept = load_expert_data(expert_file, num_trajectories=2, subsample=20, seed=3)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.pt", env_id="HalfCheetah-v4")
    mean = checkpoint["agent"]["normalizer"]["mean"].numpy()
    assert np.allclose(mean, kept.observations.mean(axis=0), atol=1e-5)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # normalized by the full returns of the 2 kept episodes, not by the kept rewards
    normalized = metrics["eval/return"] / kept.mean_return
    assert metrics["eval/normalized_return"] == pytest.approx(normalized, rel=1e-5)
    assert kept.mean_return > 10 * float(kept.rewards.sum()) / kept.num_episodes


def test_absorbing_states_run_end_to_end_on_a_terminating_env(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    picks = ["env=Hopper-v4", "discriminator.absorbing=true", "dataset.num_trajectories=2"]
    result = run_cli("gail-train", *TINY, *picks, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train/absorbing_reward" in _scalar_tags(run_dir)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.pt", env_id="Hopper-v4")
    fraction = checkpoint["agent"]["learner"]["policy_absorbing_fraction"]
    assert 0 < fraction < 0.5  # a barely trained Hopper falls within a few dozen steps


def test_multirun_over_two_seeds_makes_two_run_directories(
    tmp_path: Path, expert_file: Path
) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        "gail-train",
        "-m",
        "seed=0,1",
        f"dataset.path={expert_file}",
        *TINY,
        "trainer.total_env_steps=1024",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p.parent for p in sweep.glob("*/metrics.json"))
    assert len(runs) == 2
    assert {"seed=0" in r.name for r in runs} == {True, False}
    for run in runs:
        assert "eval/return" in _scalar_tags(run)


def test_bad_dataset_path_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.hdf5"
    result = run_cli("gail-train", f"dataset.path={missing}", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"gail-train: error: expert file {missing}: no such file; "
        "pass an existing file with dataset.path=<file>"
    ]


def test_expert_then_eval_then_collect_round_trip(tmp_path: Path) -> None:
    run_dir = tmp_path / "expert"
    result = run_cli("gail-expert", "env=Hopper-v4", *TINY, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "eval/return" in _scalar_tags(run_dir)
    eval_dir = tmp_path / "eval"
    result = run_cli(
        "gail-eval",
        f"checkpoint={run_dir}",
        "episodes=2",
        "video=true",
        f"hydra.run.dir={eval_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("Hopper-v4: return ")
    (video,) = (eval_dir / "videos").glob("eval_*.mp4")  # the command's run dir
    assert video.stat().st_size > 1000 and f"video: {video}" in result.stdout
    out = tmp_path / "demo.hdf5"
    result = run_cli("gail-collect", f"checkpoint={run_dir}", "episodes=3", f"out={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    data = load_expert_data(out, obs_dim=11, act_dim=3)
    assert data.num_episodes == 3
    assert data.env_id == "Hopper-v4"
    assert abs(data.actions).max() <= 1.0
    with h5py.File(out, "r") as f:  # provenance without the machine's paths
        assert f.attrs["source_checkpoint"] == "last.pt"
        assert str(tmp_path) not in f.attrs["command"] + f.attrs["collect_config"]
    # refuses to overwrite, and the file is unchanged
    before = out.read_bytes()
    result = run_cli("gail-collect", f"checkpoint={run_dir}", "episodes=3", f"out={out}")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert out.read_bytes() == before


def test_gail_eval_scores_a_shipped_expert() -> None:
    repo = Path(__file__).resolve().parents[1]
    checkpoint = repo / "data" / "experts" / "Hopper-v4.pt"
    expert = repo / "data" / "experts" / "Hopper-v4.hdf5"
    result = run_cli("gail-eval", f"checkpoint={checkpoint}", f"expert={expert}", "episodes=2")
    assert result.returncode == 0, result.stderr[-3000:]
    # "Hopper-v4: return 3452.6 +- 1.1 over 2 episodes; normalized 1.000 (expert 3452.6)"
    score = float(result.stdout.split("normalized ")[1].split()[0])
    assert 0.5 < score < 1.5
