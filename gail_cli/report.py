"""gail-report: a table and learning curves of a sweep, read from its run directories.

    gail-report multirun/2026-11-24/10-00-00 [--out DIR]

Runs are grouped by env and by their overrides other than the seed; each group's final
eval figures are summarized over seeds (mean ± std). A run still in progress (no
metrics.json yet) counts with its latest TensorBoard values and is marked partial.
Writes report.md and one learning-curve PNG per env (mean and min–max band over seeds,
the expert's return dashed) into --out (default: the sweep directory).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from gail_cli.errors import GailError

CURVE_TAG = "eval/return"


@dataclass
class Run:
    """One run directory's identity, final figures and eval curve."""

    path: Path
    env: str
    config: str  # overrides other than seed and env, e.g. "dataset.num_trajectories=4"
    seed: str
    finished: bool
    final: dict[str, float]
    curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def expert_return(self) -> float | None:
        ret, norm = self.final.get("eval/return"), self.final.get("eval/normalized_return")
        return ret / norm if ret is not None and norm else None


def _overrides(run_dir: Path) -> dict[str, str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    items = yaml.safe_load(path.read_text()) or []
    return dict(item.split("=", 1) for item in items if "=" in item)


def _scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of the run's TensorBoard events, as (step, value) pairs."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def read_run(run_dir: Path) -> Run:
    """Identity from .hydra/, figures from metrics.json or else the latest scalars."""
    overrides = _overrides(run_dir)
    config_file = run_dir / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    env = overrides.get("env") or (config.get("env") or {}).get("id", "?")
    seed = overrides.get("seed", str(config.get("seed", "?")))
    rest = ",".join(
        f"{k}={v}" for k, v in sorted(overrides.items()) if k not in ("env", "seed", "env.id")
    )
    scalars = _scalars(run_dir)
    metrics_file = run_dir / "metrics.json"
    if metrics_file.is_file():
        final = json.loads(metrics_file.read_text())
        finished = True
    else:
        final = {tag: series[-1][1] for tag, series in scalars.items() if series}
        steps = [series[-1][0] for series in scalars.values() if series]
        final["env_steps"] = float(max(steps)) if steps else 0.0
        finished = False
    return Run(run_dir, env, rest or "default", seed, finished, final, scalars.get(CURVE_TAG, []))


def find_runs(sweep_dir: Path) -> list[Run]:
    """Every run directory below sweep_dir (one with .hydra/ and events or metrics)."""
    if not sweep_dir.is_dir():
        raise GailError(f"{sweep_dir}: no such directory; pass a sweep or outputs directory")
    candidates = {p.parent for p in sweep_dir.rglob("events.out.tfevents.*")}
    candidates |= {p.parent for p in sweep_dir.rglob("metrics.json")}
    runs = [read_run(d) for d in sorted(candidates)]
    if not runs:
        raise GailError(f"{sweep_dir}: no runs found (no TensorBoard events or metrics.json)")
    return runs


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    return f"{np.mean(values):.1f} ± {np.std(values):.1f}"


def _mean_std_ratio(values: list[float]) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def table(runs: list[Run]) -> str:
    """Markdown: one row per (env, config) with mean ± std over its seeds."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.env, run.config)].append(run)
    header = ("env", "config", "seeds", "eval return", "normalized return", "env steps", "wall")
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for (env, config), members in sorted(groups.items()):
        partial = sum(not r.finished for r in members)
        seeds = ",".join(sorted(r.seed for r in members)) + (
            f" ({partial} partial)" if partial else ""
        )
        steps = [r.final.get("env_steps", 0.0) for r in members]
        walls = [r.final["time/wall_s"] for r in members if "time/wall_s" in r.final]
        wall = f"{np.mean(walls) / 60:.0f} min" if walls else "–"
        lines.append(
            f"| {env} | {config} | {seeds} "
            f"| {_mean_std([r.final.get('eval/return') for r in members])} "  # type: ignore[misc]
            f"| {_mean_std_ratio([r.final.get('eval/normalized_return') for r in members])} "  # type: ignore[misc]
            f"| {int(min(steps)):,}–{int(max(steps)):,} | {wall} |"
        )
    return "\n".join(lines)


def plot_curves(runs: list[Run], out_dir: Path) -> list[Path]:
    """One PNG per env: eval return vs env steps, mean and min–max band per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    by_env: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_env[run.env].append(run)
    for env, members in sorted(by_env.items()):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        groups: dict[str, list[Run]] = defaultdict(list)
        for run in members:
            if run.curve:
                groups[run.config].append(run)
        for config, group in sorted(groups.items()):
            common_end = min(run.curve[-1][0] for run in group)  # every seed has data
            steps = sorted({s for run in group for s, _ in run.curve if s <= common_end})
            grid = np.array(steps, dtype=float)
            values = np.array(
                [np.interp(grid, *zip(*run.curve, strict=True), right=np.nan) for run in group]
            )
            mean = np.nanmean(values, axis=0)
            line = ax.plot(grid, mean, label=f"{config} ({len(group)} seeds)")[0]
            ax.fill_between(
                grid, np.nanmin(values, 0), np.nanmax(values, 0), color=line.get_color(), alpha=0.2
            )
        experts = [r.expert_return for r in members if r.expert_return]
        if experts:
            ax.axhline(float(np.median(experts)), color="k", linestyle="--", label="expert")
        ax.set_title(f"{env}: deterministic eval return")
        ax.set_xlabel("env steps")
        ax.set_ylabel("return")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        path = out_dir / f"curves_{env}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gail-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun sweep (or outputs) directory")
    parser.add_argument("--out", type=Path, help="where report.md and PNGs go (default: sweep)")
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.sweep_dir)
        out = args.out or args.sweep_dir
        out.mkdir(parents=True, exist_ok=True)
        text = table(runs)
        pngs = plot_curves(runs, out)
    except GailError as exc:
        print(f"gail-report: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gail-report: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    (out / "report.md").write_text(
        text + "\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n"
    )
    print(text)
    print(f"\nwrote {out / 'report.md'} and {len(pngs)} plot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
