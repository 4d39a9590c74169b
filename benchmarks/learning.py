"""Learning benchmark: an (env x seed x num_trajectories) grid of gail-train runs.

Runs the grid as one Hydra multirun (joblib launcher, ``--jobs`` parallel processes), then
``gail-report`` writes the markdown table and learning-curve PNGs of the sweep.

    python benchmarks/learning.py                       # the 25-episode grid of docs/results.md
    python benchmarks/learning.py --envs Hopper-v4 --seeds 0 --trajectories 4 --steps 200000
    python benchmarks/learning.py --report-only --sweep-dir multirun/learning   # re-plot
    # the GAIL paper's setting: 1, 4, 11, 25 episodes subsampled by 20, BC alone beside
    python benchmarks/learning.py --trajectories 1 4 11 25 --subsample 20 --bc-baseline
    python benchmarks/learning.py --algorithm <option> --override ppo.lr=1e-4   # other runs

`make results` (benchmarks/results_tables.py) runs the grids of docs/results.md with this
module and writes their tables there.

--bc-baseline also runs behavioral cloning alone on the same data (10,000 cloning steps
through the expert's observation statistics, the actor then frozen: a critic warm-up as
long as the run) into <sweep-dir>-bc, and the report shows its level beside each row.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# behavioral cloning alone: clone, then only the critic learns (the actor stays the clone)
BC_ALONE = [
    "trainer.bc_init_steps=10000",
    "trainer.obs_normalization=expert",
    "trainer.critic_warmup_steps=1000000000",
    "trainer.total_env_steps=20480",
    "trainer.eval_every=20480",
]


def overrides(args: argparse.Namespace, run: list[str]) -> list[str]:
    """The grid's overrides: env, seed and dataset axes, then ``run`` (the kind of run),
    then ``args.override``; a key given twice keeps its last value."""
    merged: dict[str, str] = {}
    items = [
        f"env={','.join(args.envs)}",
        f"seed={','.join(map(str, args.seeds))}",
        f"dataset.num_trajectories={','.join(map(str, args.trajectories))}",
        *([f"dataset.subsample={args.subsample}"] if args.subsample is not None else []),
        *run,
        *args.override,
    ]
    for item in items:
        key, _, value = item.partition("=")
        merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def multirun(args: argparse.Namespace, sweep_dir: Path, run: list[str]) -> list[str]:
    """The gail-train multirun command of the grid, into sweep_dir."""
    return [
        str(BIN / "gail-train"),
        "-m",
        *overrides(args, run),
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={args.jobs}",
        f"hydra.sweep.dir={sweep_dir}",
        # runs named by number: a long grid's overrides outgrow a file name (gail-report
        # reads each run's overrides from its .hydra/ folder)
        "hydra.sweep.subdir=${hydra.job.num}",
    ]


def gail_run(args: argparse.Namespace) -> list[str]:
    """The overrides of the imitation runs: the budget and, if given, the algorithm."""
    chosen = [f"algorithm={args.algorithm}"] if args.algorithm else []
    return [f"trainer.total_env_steps={args.steps}", *chosen]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trajectories", nargs="+", type=int, default=[25])
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sweep-dir", type=Path, default=Path("multirun/learning"))
    parser.add_argument("--out", type=Path, default=Path("multirun/learning-report"))
    parser.add_argument(
        "--subsample", type=int, help="keep every N-th expert pair (dataset.subsample)"
    )
    parser.add_argument(
        "--bc-baseline", action="store_true", help="also run BC alone, shown beside each row"
    )
    parser.add_argument(
        "--algorithm", help="the algorithm=<option> of the imitation runs (default: the config's)"
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an override for every run, BC alone included (repeatable)",
    )
    parser.add_argument("--report-only", action="store_true")
    return parser


def bc_sweep_dir(sweep_dir: Path) -> Path:
    return sweep_dir.with_name(sweep_dir.name + "-bc")


# exit codes of a sweep stopped by Ctrl-C or SIGTERM (gail-train's, or the signal's own)
INTERRUPTED = frozenset({130, 143, -signal.SIGINT, -signal.SIGTERM})


def run_grid(args: argparse.Namespace) -> None:
    """Run the imitation grid and, with --bc-baseline, BC alone on the same data; a sweep
    stopped by a signal ends the grid there (exit 130), so that the same command later
    finishes it in place."""
    commands = [multirun(args, args.sweep_dir, gail_run(args))]
    if args.bc_baseline:
        commands.append(multirun(args, bc_sweep_dir(args.sweep_dir), BC_ALONE))
    for command in commands:
        print(" ".join(command), flush=True)
        if subprocess.run(command, check=False).returncode in INTERRUPTED:
            print("learning: interrupted; run the same command again to finish", file=sys.stderr)
            sys.exit(130)


def main() -> None:
    args = parser().parse_args()
    if not args.report_only:
        run_grid(args)
    report = [str(BIN / "gail-report"), str(args.sweep_dir), "--out", str(args.out)]
    if args.bc_baseline:
        report += ["--baseline", str(bc_sweep_dir(args.sweep_dir))]
    sys.exit(subprocess.run(report, check=False).returncode)


if __name__ == "__main__":
    main()
