"""The results writer of `make results` (benchmarks/results_tables.py), on fake runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import learning  # noqa: E402
import results_tables  # noqa: E402

from gail_cli.cli.report import Run  # noqa: E402


def fake_run(env: str, seed: int, final: float, curve: list[float], wall_s: float) -> Run:
    steps = [(50_000 * (i + 1), value) for i, value in enumerate(curve)]
    metrics = {
        "env_steps": 1_001_472.0,
        "eval/return": 1000.0 * final,
        "eval/normalized_return": final,
        "time/wall_s": wall_s,
    }
    overrides = {"dataset.num_trajectories": "25", "trainer.total_env_steps": "1000000"}
    return Run(Path(f"/sweep/{env}/{seed}"), env, str(seed), overrides, True, metrics, [], steps)


def test_the_section_holds_provenance_and_each_grids_figures() -> None:
    runs = [
        fake_run("Hopper-v4", 0, 0.9, [0.5, 0.7, 0.8, 0.9], 600.0),
        fake_run("Hopper-v4", 1, 1.1, [0.6, 1.0, 1.0, 1.1], 660.0),
    ]
    bc = [fake_run("Hopper-v4", 0, 0.4, [0.4], 30.0), fake_run("Hopper-v4", 1, 0.6, [0.6], 30.0)]
    grid = results_tables.GRIDS[0]
    text = results_tables.results_section(
        [(grid, runs, bc)], "abc1234", "a CPU", "2026-01-01 00:00 UTC", "make results"
    )
    assert "`make results` at commit abc1234, 2026-01-01 00:00 UTC.\nMachine: a CPU." in text
    assert f"### {grid.title}" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| Hopper-v4")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert "1.000 ± 0.100" in cells  # final normalized, mean ± std over the two seeds
    assert "0.917 ± 0.117" in cells  # last 3 evaluations: 0.8 and 1.033
    assert "0.500 ± 0.100" in cells  # BC alone beside
    assert "10 min" in cells  # wall-clock per run


def test_the_block_between_the_markers_is_replaced(tmp_path: Path) -> None:
    doc = tmp_path / "results.md"
    doc.write_text(
        "# Results\n\nkept\n\n<!-- BEGIN GENERATED results -->\nold\n"
        "<!-- END GENERATED results -->\n\nkept too\n"
    )
    updated = results_tables.replace_block(doc.read_text(), "results", "new", "results.md")
    assert "old" not in updated and "\nnew\n" in updated
    assert updated.count("kept") == 2


@pytest.mark.parametrize("quick", [False, True])
def test_grid_options_reach_the_learning_benchmark(quick: bool, tmp_path: Path) -> None:
    options = results_tables.argparse.Namespace(
        quick=quick, jobs=2, algorithm="dac", override=["ppo.lr=1e-4"]
    )
    grid = results_tables.GRIDS[1]
    args = results_tables.learning_args(grid, options, tmp_path)
    assert args.subsample == 20 and args.trajectories == [4] and args.bc_baseline
    assert args.sweep_dir == tmp_path / grid.name
    gail = learning.overrides(args, learning.gail_run(args))
    assert "algorithm=dac" in gail and "ppo.lr=1e-4" in gail
    assert "dataset.subsample=20" in gail
    assert len(args.seeds) == (1 if quick else 3)
    bc = learning.overrides(args, learning.BC_ALONE)
    assert "algorithm=dac" not in bc and "ppo.lr=1e-4" in bc


def test_the_readme_summary_has_a_gail_and_a_bc_row_per_grid() -> None:
    grids = results_tables.GRIDS
    tables = [
        (
            grids[0],
            [fake_run("Hopper-v4", 0, 0.9, [0.9], 1.0)],
            [fake_run("Hopper-v4", 0, 0.5, [], 1.0)],
        ),
        (grids[1], [fake_run("Walker2d-v4", 0, 1.1, [1.1], 1.0)], []),
    ]
    lines = results_tables.summary_table(tables).splitlines()
    assert lines[0] == "| expert data | Hopper-v4 | Walker2d-v4 |"
    assert lines[2:] == [
        f"| {grids[0].short} | 0.900 ± 0.000 | – |",
        "| BC alone | 0.500 ± 0.000 | – |",
        f"| {grids[1].short} | – | 1.100 ± 0.000 |",
        "| BC alone | – | – |",
    ]


@pytest.mark.parametrize("code", [130, 143, -2])
def test_a_grid_whose_sweep_was_interrupted_stops_before_the_baseline(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = results_tables.argparse.Namespace(quick=True, jobs=1, algorithm=None, override=[])
    args = results_tables.learning_args(results_tables.GRIDS[0], options, tmp_path)
    started: list[list[str]] = []
    exit_code = code

    def fake_run(command: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        started.append(command)
        return subprocess.CompletedProcess(command, exit_code)

    monkeypatch.setattr(learning.subprocess, "run", fake_run)
    with pytest.raises(SystemExit) as stopped:
        learning.run_grid(args)
    assert stopped.value.code == 130
    assert len(started) == 1 and str(args.sweep_dir) in " ".join(started[0])
    # a sweep that ended on its own (1: one of its jobs failed) goes on to BC alone
    started.clear()
    exit_code = 1
    learning.run_grid(args)
    assert len(started) == 2 and str(learning.bc_sweep_dir(args.sweep_dir)) in " ".join(started[1])
