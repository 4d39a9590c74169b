"""Learning benchmark: an (env x seed x num_trajectories) grid of gail-train runs.

Runs the grid as one Hydra multirun (joblib launcher, ``--jobs`` parallel processes), then
``gail-report`` writes the markdown table and learning-curve PNGs of the sweep.

    python benchmarks/learning.py                       # the README's results grid
    python benchmarks/learning.py --envs Hopper-v4 --seeds 0 --trajectories 4 --steps 200000
    python benchmarks/learning.py --report-only --sweep-dir multirun/learning   # re-plot
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trajectories", nargs="+", type=int, default=[25])
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sweep-dir", type=Path, default=Path("multirun/learning"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "learning")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        command = [
            str(BIN / "gail-train"),
            "-m",
            f"env={','.join(args.envs)}",
            f"seed={','.join(map(str, args.seeds))}",
            f"dataset.num_trajectories={','.join(map(str, args.trajectories))}",
            f"trainer.total_env_steps={args.steps}",
            "hydra/launcher=joblib",
            f"hydra.launcher.n_jobs={args.jobs}",
            f"hydra.sweep.dir={args.sweep_dir}",
        ]
        print(" ".join(command), flush=True)
        subprocess.run(command, check=False)
    report = [str(BIN / "gail-report"), str(args.sweep_dir), "--out", str(args.out)]
    sys.exit(subprocess.run(report, check=False).returncode)


if __name__ == "__main__":
    main()
