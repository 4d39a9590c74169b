"""gail-report on a small hand-made sweep directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch.utils.tensorboard import SummaryWriter

from gail_cli.report import main


def _run(sweep: Path, name: str, overrides: list[str], curve: list[float], final: bool) -> None:
    run = sweep / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    writer = SummaryWriter(str(run))
    for i, value in enumerate(curve):
        writer.add_scalar("eval/return", value, (i + 1) * 1000)
        writer.add_scalar("eval/normalized_return", value / 100.0, (i + 1) * 1000)
    writer.close()
    if final:
        metrics = {
            "env_steps": 1000.0 * len(curve),
            "eval/return": curve[-1],
            "eval/normalized_return": curve[-1] / 100.0,
            "time/wall_s": 120.0,
        }
        (run / "metrics.json").write_text(json.dumps(metrics))


def test_table_and_plot_of_a_partial_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "sweep"
    _run(sweep, "0_env=Hopper-v4,seed=0", ["env=Hopper-v4", "seed=0"], [10, 50, 80], True)
    _run(sweep, "1_env=Hopper-v4,seed=1", ["env=Hopper-v4", "seed=1"], [20, 60, 100], True)
    _run(sweep, "2_env=Hopper-v4,seed=2", ["env=Hopper-v4", "seed=2"], [30, 40], False)
    _run(
        sweep,
        "3_env=Hopper-v4,seed=0,n=4",
        ["env=Hopper-v4", "seed=0", "dataset.num_trajectories=4"],
        [5, 6],
        True,
    )
    assert main([str(sweep), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    # seeds 0, 1 finished at 80 and 100; seed 2 partial at 40: mean 73.3, std 24.9
    assert "| Hopper-v4 | default | 0,1,2 (1 partial) | 73.3 ± 24.9 | 0.733 ± 0.249 |" in text
    assert "| Hopper-v4 | dataset.num_trajectories=4 | 0 | 6.0 ± 0.0 | 0.060 ± 0.000 |" in text
    assert (tmp_path / "out" / "curves_Hopper-v4.png").stat().st_size > 10_000
    assert "curves_Hopper-v4.png" in (tmp_path / "out" / "report.md").read_text()


def test_bad_sweep_directories_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("gail-report: error: ")
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no runs found" in err and err.count("\n") == 1
