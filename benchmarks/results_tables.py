"""`make results`: run the learning benchmark on the current code, write docs/results.md's tables.

    python benchmarks/results_tables.py                  # the full grids (hours on a CPU)
    python benchmarks/results_tables.py --quick          # a CI-sized check of the pipeline
    python benchmarks/results_tables.py --algorithm <option> --override ppo.lr=1e-4

Each grid of :data:`GRIDS` is one `benchmarks/learning.py` run (3 envs x 3 seeds, 1M env
steps, behavioral cloning alone beside it); its gail-report table (final and last-3
normalized returns, mean ± std over seeds, BC alone, wall-clock per run) goes into the
block between ``<!-- BEGIN GENERATED results -->`` and ``<!-- END GENERATED results -->``
of docs/results.md, under the commit and machine the runs came from, and a summary (final
normalized return per env, GAIL and BC alone) into README.md's "results summary" block.
``--quick`` runs one env and seed on a tiny budget and writes a whole file of its own
(default multirun/results-quick.md), never docs/results.md or README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import learning

from gail_cli.cli.report import NORMALIZED_TAG, Run, find_runs, mean_std, table
from gail_cli.data.atomic import atomic_path
from gail_cli.errors import EXIT_BAD_INPUT, GailError
from gail_cli.run.settings_docs import replace_block

ROOT = Path(__file__).resolve().parents[1]
BLOCK = "results"
SUMMARY_BLOCK = "results summary"  # README.md's


@dataclass(frozen=True)
class Grid:
    """One results table: a title and the learning.py options that produce it."""

    name: str  # also the sweep folder's name
    title: str
    short: str  # its row label in README's summary
    trajectories: int
    subsample: int | None


GRIDS = (
    Grid("episodes25", "25 whole expert episodes", "25 whole episodes", 25, None),
    Grid(
        "episodes4_subsample20",
        "4 expert episodes, every 20th pair (the GAIL paper's)",
        "4 episodes, every 20th pair",
        4,
        20,
    ),
)
FULL = {"envs": ["HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"], "seeds": [0, 1, 2]}
# one env and seed on a tiny budget: checks the pipeline end to end in about two minutes
QUICK = {
    "envs": ["Hopper-v4"],
    "seeds": [0],
    "override": [
        "trainer.total_env_steps=4096",  # BC alone too
        "trainer.eval_every=2048",
        "trainer.eval_episodes=2",
        "trainer.eval_in_background=false",
        "trainer.bc_init_steps=200",
        "trainer.num_envs=4",
        "trainer.steps_per_collect=1024",
    ],
}


def git_commit(root: Path = ROOT) -> str:
    """The checked-out commit, '+ local changes' when the tree differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    return commit + (
        " + local changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def machine() -> str:
    """CPU model and count, Python and torch versions, in one line."""
    import torch

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def results_section(
    tables: list[tuple[Grid, list[Run], list[Run]]],
    commit: str,
    machine_line: str,
    when: str,
    command: str,
) -> str:
    """The generated block: provenance, then one table per grid (gail-report's columns)."""
    lines = [
        f"Measured by `{command}` at commit {commit}, {when}.",
        f"Machine: {machine_line}.",
        "",
        "Scores are final deterministic evaluations normalized by the expert file's mean",
        'return, mean ± std over seeds; "baseline" is behavioral cloning alone on the same',
        "data; wall is per run (runs share the machine's cores).",
    ]
    for grid, runs, baseline in tables:
        lines += ["", f"### {grid.title}", "", table(runs, baseline)]
    return "\n".join(lines)


def summary_table(tables: list[tuple[Grid, list[Run], list[Run]]]) -> str:
    """README's summary: per grid, GAIL's and BC alone's final normalized return per env
    (mean ± std over seeds)."""
    envs = sorted({run.env for _, runs, _ in tables for run in runs})
    lines = ["| expert data | " + " | ".join(envs) + " |", "|" + "---|" * (len(envs) + 1)]
    for grid, runs, baseline in tables:
        for label, group in ((grid.short, runs), ("BC alone", baseline)):
            cells = [
                mean_std((r.final.get(NORMALIZED_TAG) for r in group if r.env == env), 3)
                for env in envs
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def learning_args(grid: Grid, options: argparse.Namespace, sweep_root: Path) -> argparse.Namespace:
    """learning.py's options for one grid."""
    size = QUICK if options.quick else FULL
    argv = ["--envs", *size["envs"], "--seeds", *map(str, size["seeds"])]
    argv += ["--trajectories", str(grid.trajectories), "--sweep-dir", str(sweep_root / grid.name)]
    argv += ["--bc-baseline", "--jobs", str(options.jobs)]
    if grid.subsample is not None:
        argv += ["--subsample", str(grid.subsample)]
    if options.algorithm:
        argv += ["--algorithm", options.algorithm]
    for item in [*size.get("override", []), *options.override]:
        argv += ["--override", item]
    return learning.parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", default=bool(os.environ.get("RESULTS_QUICK"))
    )
    parser.add_argument("--algorithm", help="algorithm=<option> of the imitation runs")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sweep-root", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="the file to write")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="re-read existing sweeps (the commit and date written are this call's)",
    )
    options = parser.parse_args(argv)
    stamp = "results-quick" if options.quick else "results"
    sweep_root = options.sweep_root or Path("multirun") / stamp
    out = options.out or (
        Path("multirun/results-quick.md") if options.quick else ROOT / "docs/results.md"
    )
    command = "make results-quick" if options.quick else "make results"
    if options.algorithm:
        command += f" --algorithm {options.algorithm}"
    command += "".join(f" --override {item}" for item in options.override)
    tables = []
    for grid in GRIDS:
        args = learning_args(grid, options, sweep_root)
        if not options.report_only:
            learning.run_grid(args)
        try:
            runs, _ = find_runs(args.sweep_dir)
            baseline, _ = find_runs(learning.bc_sweep_dir(args.sweep_dir))
        except GailError as exc:  # a grid whose runs all failed: their errors are above
            print(f"results_tables: error: {exc}; {out} is unchanged", file=sys.stderr)
            return EXIT_BAD_INPUT
        tables.append((grid, runs, baseline))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = results_section(tables, git_commit(), machine(), when, command)
    if options.quick and not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            "# Results (quick check)\n\n<!-- BEGIN GENERATED results -->\n"
            "<!-- END GENERATED results -->\n"
        )
    write_block(out, BLOCK, section)
    if not options.quick:
        write_block(ROOT / "README.md", SUMMARY_BLOCK, summary_table(tables))
    return 0


def write_block(path: Path, name: str, body: str) -> None:
    """Replace the generated block ``name`` of ``path`` (atomically)."""
    text = replace_block(path.read_text(), name, body, str(path))
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
