"""gail-report on a small hand-made sweep directory, and on bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from torch.utils.tensorboard import SummaryWriter

from gail_cli.cli.report import main, read_run, wall_clock_curve

EXPERT = 100.0  # the fake runs' expert return: normalized = return / 100


def _fake_run(
    sweep: Path,
    name: str,
    overrides: list[str],
    curve: list[float],
    finished: bool,
    minutes_per_eval: float | None = None,
) -> Path:
    """A run dir as gail-train writes it: .hydra/, eval scalars every 1000 steps, metrics.
    With ``minutes_per_eval``, evaluation i is stamped (i + 1) * minutes_per_eval after
    the writer's creation."""
    run = sweep / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    seed = int(next(o for o in overrides if o.startswith("seed=")).split("=")[1])
    config = {"seed": seed, "env": {"id": "Hopper-v4"}, "trainer": {"total_env_steps": 3000}}
    (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    writer = SummaryWriter(str(run))
    created = time.time()
    for i, value in enumerate(curve):
        stamp = None if minutes_per_eval is None else created + (i + 1) * minutes_per_eval * 60
        writer.add_scalar("eval/return", value, (i + 1) * 1000, walltime=stamp)
        writer.add_scalar("eval/normalized_return", value / EXPERT, (i + 1) * 1000)
        writer.add_scalar("rollout/return", value / 2, (i + 1) * 1000)
    writer.close()
    if finished:
        metrics = {
            "env_steps": 1000.0 * len(curve),
            "eval/return": curve[-1],
            "eval/return_std": 1.0,
            "eval/normalized_return": curve[-1] / EXPERT,
            "time/env_steps_per_s": 25.0,
            "time/wall_s": 120.0,
        }
        (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def _fake_sweep(sweep: Path) -> None:
    """Two finished seeds and one partial seed of one config, one seed of another."""
    common = ["env=Hopper-v4", "trainer.total_env_steps=3000"]
    _fake_run(sweep, "0_env=Hopper-v4,seed=0", [*common, "seed=0"], [10, 50, 80], True)
    _fake_run(sweep, "1_env=Hopper-v4,seed=1", [*common, "seed=1"], [20, 60, 100], True)
    _fake_run(sweep, "2_env=Hopper-v4,seed=2", [*common, "seed=2"], [30, 40], False)
    _fake_run(
        sweep,
        "3_dataset.num_trajectories=4,env=Hopper-v4,seed=0",
        [*common, "seed=0", "dataset.num_trajectories=4", "ppo.lr=0.000123456789"],
        [5, 6, 7],
        True,
    )


def test_table_and_plot_of_a_partial_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep, out = tmp_path / "sweep", tmp_path / "out"
    _fake_sweep(sweep)
    assert main([str(sweep), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| Hopper-v4 |")]
    # seeds 0, 1 finished at 80 and 100, seed 2 partial at its latest 40:
    # mean 73.3, population std 24.9; the last 3 evaluations average to 0.467, 0.6 and
    # (seed 2 has only 2) 0.35: mean 0.472, std 0.102; env steps 2000 (partial) to 3000
    assert rows[1].startswith(
        "| Hopper-v4 | default | 0,1,2 (1 partial) | 73.3 ± 24.9 | 0.733 ± 0.249 "
        "| 0.472 ± 0.102 | 2,000–3,000 |"
    )
    # the config column names only what differs within the sweep; floats are shortened
    assert rows[0].startswith(
        "| Hopper-v4 | dataset.num_trajectories=4,ppo.lr=0.0001235 | 0 | 7.0 ± 0.0 "
        "| 0.070 ± 0.000 | 0.060 ± 0.000 | 3,000 | 2 min |"
    )
    report = (out / "report.md").read_text()
    assert "4 runs (3 finished, 1 partial)" in report
    assert "Overrides shared by every run: trainer.total_env_steps=3000" in report
    assert rows[1] in report and "![curves_Hopper-v4](curves_Hopper-v4.png)" in report
    png = out / "curves_Hopper-v4.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert not (sweep / "report.md").exists()


def test_a_baseline_sweep_is_shown_beside_the_rows_of_its_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep, bc, out = tmp_path / "sweep", tmp_path / "bc", tmp_path / "out"
    _fake_sweep(sweep)
    picks = ["env=Hopper-v4", "dataset.num_trajectories=4"]
    _fake_run(bc, "0", [*picks, "seed=0"], [30.0], True)
    _fake_run(bc, "1", [*picks, "seed=1"], [50.0], True)
    _fake_run(bc, "2", ["env=Hopper-v4", "dataset.num_trajectories=9", "seed=0"], [90.0], True)
    assert main([str(sweep), "--out", str(out), "--baseline", str(bc)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| Hop")]
    # the 4-trajectory row gets the mean of its two baseline seeds, the default row none
    assert "| 0.070 ± 0.000 | 0.060 ± 0.000 | 0.400 ± 0.100 | 3,000 |" in rows[0]
    assert "| 0.472 ± 0.102 | – | 2,000–3,000 |" in rows[1]
    assert "Baseline: 3 runs of" in (out / "report.md").read_text()


def test_report_goes_into_the_sweep_dir_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_run(tmp_path, "0_seed=0", ["seed=0"], [1.0, 2.0], True)
    assert main([str(tmp_path)]) == 0
    assert (
        "| Hopper-v4 | default | 0 | 2.0 ± 0.0 | 0.020 ± 0.000 | 0.015 ± 0.000 | 2,000 | 2 min |"
        in (capsys.readouterr().out)
    )
    assert (tmp_path / "report.md").is_file() and (tmp_path / "curves_Hopper-v4.png").is_file()


def test_a_run_that_has_logged_nothing_yet_is_listed_as_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_run(tmp_path, "0_seed=0", ["seed=0"], [], False)
    assert main([str(tmp_path)]) == 0
    assert "| Hopper-v4 | default | 0 (1 partial) | – | – | – | – | – |" in capsys.readouterr().out


def test_a_pruned_run_is_marked_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fake_run(tmp_path, "0_seed=0", ["seed=0"], [1.0, 2.0, 3.0], True)
    pruned = _fake_run(tmp_path, "1_seed=1", ["seed=1"], [1.0], True)
    metrics = json.loads((pruned / "metrics.json").read_text())
    (pruned / "metrics.json").write_text(json.dumps({**metrics, "pruned": True}))
    assert main([str(tmp_path)]) == 0
    assert "| Hopper-v4 | default | 0,1 (1 pruned) |" in capsys.readouterr().out
    assert "2 runs (1 finished, 1 pruned, 0 partial)" in (tmp_path / "report.md").read_text()


def test_bad_sweep_directories_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err == f"gail-report: error: {tmp_path / 'missing'}: no such directory; " + (
        "pass a sweep (or outputs) directory\n"
    )
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert main([str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gail-report: error: ") and "no runs found" in err
    assert err.count("\n") == 1


def test_the_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = run_cli("gail-report", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.startswith("gail-report: error: ") and result.stderr.count("\n") == 1


def test_the_report_names_no_absolute_path(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    expert = tmp_path / "experts" / "mine.hdf5"
    _fake_run(sweep, "0_seed=0", ["seed=0", f"dataset.path={expert}"], [1.0, 2.0], True)
    _fake_run(sweep, "1_seed=1", ["seed=1", f"dataset.path={expert}"], [1.0, 3.0], True)
    assert main([str(sweep)]) == 0
    report = (sweep / "report.md").read_text()
    assert report.startswith("# Sweep report: sweep\n")
    assert "dataset.path=mine.hdf5" in report
    assert str(tmp_path) not in report


def test_the_wall_clock_curve_places_each_evaluation_at_the_seeds_mean_time(
    tmp_path: Path,
) -> None:
    common = ["env=Hopper-v4", "trainer.total_env_steps=3000"]
    slow = read_run(_fake_run(tmp_path, "a", [*common, "seed=0"], [10, 50, 80], True, 2.0))
    fast = read_run(_fake_run(tmp_path, "b", [*common, "seed=1"], [30, 70], True, 1.0))
    assert slow.curve_elapsed_s == pytest.approx([120, 240, 360], abs=5)
    curve = wall_clock_curve([slow, fast])
    assert curve is not None
    minutes, returns = curve
    # the steps both seeds reached (1,000 and 2,000), at the mean of 2 and 1 min per eval
    assert minutes == pytest.approx([1.5, 3.0], abs=0.1)
    assert returns.tolist() == [20.0, 60.0]
