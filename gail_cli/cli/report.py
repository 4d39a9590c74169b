"""gail-report: a table and learning curves of a sweep, read from its run directories.

    gail-report multirun/2026-11-24/10-00-00 [--out DIR]

A run is any directory below the sweep holding TensorBoard event files or a metrics.json.
Runs are grouped by env and by their command-line overrides other than the seed; each
group's final eval figures are summarized over its seeds (mean ± std). A run without
metrics.json (still running, or stopped) counts with its latest TensorBoard values and is
marked partial. Writes report.md and one learning-curve PNG per env into --out (default:
the sweep directory): eval return against env steps (mean over seeds, min–max band) and,
beside it, against wall-clock minutes since each run's start (mean over seeds); the
expert's return dashed.

``--baseline DIR`` names a second sweep (e.g. behavioral cloning alone, from
``benchmarks/learning.py --bc-baseline``): each row then also shows the final normalized
return of the baseline runs of the same env and ``dataset.*`` overrides, and each plot
draws that level as a horizontal dotted line.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gail_cli.algo.stats import expert_from_normalized
from gail_cli.cli.commands import COMMANDS, DOCS, command_list
from gail_cli.errors import EXIT_BAD_INPUT, GailError, first_sentence

PROGRAM = "gail-report"
CURVE_TAG = "eval/return"
NORMALIZED_TAG = "eval/normalized_return"
LAST_EVALS = 3  # the "last evaluations" column averages this many final evaluations
# Overrides that name the row (env) or are averaged over (seed) rather than a config.
IDENTITY_KEYS = frozenset({"env", "env.id", "seed"})

Curve = list[tuple[int, float]]


@dataclass
class Run:
    """One run directory: its identity, final figures and eval-return curve.

    ``overrides`` are the run's command-line overrides other than env and seed, as
    {key: value} strings. ``final`` holds metrics.json when the run finished, else the
    latest value of each TensorBoard scalar, plus ``env_steps`` and (when known)
    ``time/wall_s`` in seconds.
    """

    path: Path
    env: str
    seed: str
    overrides: dict[str, str]
    finished: bool
    final: dict[str, float]
    curve: Curve = field(default_factory=list)
    normalized_curve: Curve = field(default_factory=list)
    random_return: float | None = None
    # seconds from the run's first event (its start) to each point of ``curve``; a resumed
    # run's pause counts too
    curve_elapsed_s: list[float] = field(default_factory=list)

    @property
    def elapsed_curve(self) -> Curve:
        """(env step, seconds since the run's start) at each point of ``curve``."""
        return [(step, t) for (step, _), t in zip(self.curve, self.curve_elapsed_s, strict=True)]

    @property
    def pruned(self) -> bool:
        """Stopped early by an Optuna search's pruner (metrics.json says "pruned": true)."""
        return bool(self.final.get("pruned")) if self.finished else False

    @property
    def dataset_key(self) -> tuple[str, str]:
        """(env, its dataset.* overrides): what a baseline run is matched on."""
        items = sorted((k, v) for k, v in self.overrides.items() if k.startswith("dataset."))
        return self.env, ",".join(f"{k}={v}" for k, v in items)

    def last_evals(self, count: int = LAST_EVALS) -> float | None:
        """Mean normalized return of the run's last ``count`` evaluations (fewer if it has
        fewer), None when it has none."""
        values = _finite(v for _, v in self.normalized_curve[-count:])
        return float(np.mean(values)) if values else None

    @property
    def expert_return(self) -> float | None:
        """The expert's mean return, recovered from eval/return and eval/normalized_return
        (and the env's random return, where the run normalized by it)."""
        ret, norm = self.final.get("eval/return"), self.final.get("eval/normalized_return")
        if ret is None or not norm or not math.isfinite(ret) or not math.isfinite(norm):
            return None
        return expert_from_normalized(ret, norm, self.random_return)


def _read_overrides(run_dir: Path) -> dict[str, str]:
    """.hydra/overrides.yaml as {key: value}; ``+key``/``++key`` count as ``key``."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    items = yaml.safe_load(path.read_text()) or []
    pairs = (str(item).split("=", 1) for item in items if "=" in str(item))
    return {key.lstrip("+~"): value for key, value in pairs}


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    config = yaml.safe_load(path.read_text())
    return config if isinstance(config, dict) else {}


def _read_scalars(run_dir: Path) -> tuple[dict[str, Curve], dict[str, list[float]], float | None]:
    """Every scalar series of the run's event files; for each, the seconds from the run's
    first event to each point; and the seconds the scalars span."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    stamped = {tag: events.Scalars(tag) for tag in events.Tags()["scalars"]}
    series = {
        tag: [(int(e.step), float(e.value)) for e in points] for tag, points in stamped.items()
    }
    times = [e.wall_time for points in stamped.values() for e in points]
    if not times:
        return series, {}, None
    start = min(events.FirstEventTimestamp(), *times)
    elapsed = {tag: [e.wall_time - start for e in points] for tag, points in stamped.items()}
    return series, elapsed, max(times) - min(times)


def read_run(run_dir: Path) -> Run:
    """Identity from .hydra/, figures from metrics.json or else the latest scalars."""
    overrides = _read_overrides(run_dir)
    config = _read_config(run_dir)
    env_config = config.get("env")
    env = str(
        (env_config.get("id") if isinstance(env_config, dict) else None)
        or overrides.get("env.id")
        or overrides.get("env")
        or "?"
    )
    seed = str(overrides.get("seed", config.get("seed", "?")))
    scalars: dict[str, Curve] = {}
    elapsed: dict[str, list[float]] = {}
    span_s = None
    if any(run_dir.glob("*tfevents*")):
        scalars, elapsed, span_s = _read_scalars(run_dir)
    metrics_file = run_dir / "metrics.json"
    if metrics_file.is_file():
        final = {k: float(v) for k, v in json.loads(metrics_file.read_text()).items()}
        finished = True
    else:
        final = {tag: curve[-1][1] for tag, curve in scalars.items() if curve}
        steps = [curve[-1][0] for curve in scalars.values() if curve]
        if steps:
            final["env_steps"] = float(max(steps))
        if span_s is not None:
            final["time/wall_s"] = span_s
        finished = False
    rest = {k: v for k, v in overrides.items() if k not in IDENTITY_KEYS}
    random = env_config.get("random_return") if isinstance(env_config, dict) else None
    random = float(random) if isinstance(random, int | float) else None
    return Run(
        run_dir,
        env,
        seed,
        rest,
        finished,
        final,
        scalars.get(CURVE_TAG, []),
        scalars.get(NORMALIZED_TAG, []),
        random,
        elapsed.get(CURVE_TAG, []),
    )


def find_runs(sweep_dir: Path) -> tuple[list[Run], list[str]]:
    """Every run below sweep_dir, and a warning for each run directory that cannot be read."""
    if not sweep_dir.exists():
        raise GailError(f"{sweep_dir}: no such directory; pass a sweep (or outputs) directory")
    if not sweep_dir.is_dir():
        raise GailError(f"{sweep_dir} is not a directory; pass a sweep (or outputs) directory")
    found = {p.parent for p in sweep_dir.rglob("*tfevents*") if p.is_file()}
    found |= {p.parent for p in sweep_dir.rglob("metrics.json") if p.is_file()}
    runs, warnings = [], []
    for run_dir in sorted(found):
        try:
            runs.append(read_run(run_dir))
        except Exception as exc:  # one unreadable run must not hide the others
            warnings.append(f"skipped {run_dir}: {type(exc).__name__}: {first_sentence(exc)}")
    if not runs:
        raise GailError(
            f"{sweep_dir}: no runs found (no TensorBoard event files or metrics.json below it)"
        )
    return runs, warnings


def common_overrides(runs: Sequence[Run]) -> dict[str, str]:
    """Overrides every run shares (same key, same value): said once, above the table."""
    first, *others = [run.overrides for run in runs]
    return {k: v for k, v in first.items() if all(o.get(k) == v for o in others)}


def _short(value: str) -> str:
    """An override value for display (grouping uses the text): a float such as
    0.00031415926 as 0.0003142, an absolute path as its file name (a report names no
    folder of the machine that made it)."""
    if value.startswith(("/", "~")):
        return Path(value).name
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", value) and not value.isdigit():
        return f"{float(value):.4g}"
    return value


def config_label(run: Run, common: dict[str, str]) -> str:
    """The overrides that set this run apart from the rest of the sweep, or 'default'."""
    items = sorted((k, v) for k, v in run.overrides.items() if k not in common)
    return ",".join(f"{k}={_short(v)}" for k, v in items) or "default"


def _finite(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def mean_std(values: Iterable[float | None], digits: int) -> str:
    """'mean ± std' over the finite values (population std), or '–' when there are none."""
    finite = _finite(values)
    if not finite:
        return "–"
    return f"{np.mean(finite):.{digits}f} ± {np.std(finite):.{digits}f}"


def _seed_order(seed: str) -> tuple[int, float, str]:
    try:
        return (0, float(seed), seed)
    except ValueError:
        return (1, 0.0, seed)


def _wall(seconds: list[float]) -> str:
    if not seconds:
        return "–"
    mean = float(np.mean(seconds))
    if mean < 120:
        return f"{mean:.0f} s"
    if mean < 7200:
        return f"{mean / 60:.0f} min"
    return f"{mean / 3600:.1f} h"


def group_runs(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs keyed by (env, config label), sorted by env then label."""
    common = common_overrides(runs)
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.env, config_label(run, common))].append(run)
    return dict(sorted(groups.items()))


def baseline_levels(baseline: Sequence[Run]) -> dict[tuple[str, str], list[float]]:
    """Final normalized returns of the baseline runs, by (env, dataset overrides)."""
    levels: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in baseline:
        value = run.final.get(NORMALIZED_TAG)
        if value is not None and math.isfinite(value):
            levels[run.dataset_key].append(value)
    return dict(levels)


def table(runs: Sequence[Run], baseline: Sequence[Run] = ()) -> str:
    """Markdown table: one row per (env, config), mean ± std over the group's seeds.

    Columns: final eval return and normalized return, the mean normalized return of the
    last LAST_EVALS evaluations, the baseline's final normalized return (with a baseline),
    env steps, wall-clock seconds per run.
    """
    levels = baseline_levels(baseline)
    header = (
        "env",
        "config",
        "seeds",
        "eval return",
        "normalized return",
        f"last {LAST_EVALS} evals (normalized)",
        *(("baseline (normalized)",) if baseline else ()),
        "env steps",
        "wall",
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (env, config), members in group_runs(runs).items():
        members = sorted(members, key=lambda r: _seed_order(r.seed))
        partial = sum(not r.finished for r in members)
        pruned = sum(r.pruned for r in members)
        notes = [f"{n} {label}" for n, label in ((partial, "partial"), (pruned, "pruned")) if n]
        seeds = ",".join(r.seed for r in members) + (f" ({', '.join(notes)})" if notes else "")
        steps = [int(r.final["env_steps"]) for r in members if "env_steps" in r.final]
        if not steps:
            span = "–"
        elif min(steps) == max(steps):
            span = f"{steps[0]:,}"
        else:
            span = f"{min(steps):,}–{max(steps):,}"
        walls = _finite(r.final.get("time/wall_s") for r in members)
        ret = mean_std((r.final.get("eval/return") for r in members), 1)
        norm = mean_std((r.final.get(NORMALIZED_TAG) for r in members), 3)
        last = mean_std((r.last_evals() for r in members), 3)
        cells = [env, config, seeds, ret, norm, last]
        if baseline:
            cells.append(mean_std(levels.get(members[0].dataset_key, []), 3))
        lines.append("| " + " | ".join([*cells, span, _wall(walls)]) + " |")
    return "\n".join(lines)


def _band(group: Sequence[Run]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eval steps where every seed has data, and the mean, min and max over seeds there."""
    common_end = min(run.curve[-1][0] for run in group)
    grid = np.array(sorted({s for run in group for s, _ in run.curve if s <= common_end}), float)
    values = np.array([_at(grid, run.curve) for run in group])
    return grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def _at(grid: np.ndarray, curve: Curve) -> np.ndarray:
    """The curve's values interpolated at the steps of ``grid``."""
    return np.interp(grid, [s for s, _ in curve], [v for _, v in curve])


def wall_clock_curve(group: Sequence[Run]) -> tuple[np.ndarray, np.ndarray] | None:
    """(minutes since start, mean eval return) over the group's seeds at the steps where
    every seed has data: each point at the seeds' mean wall-clock there. None when a run
    lacks event times."""
    if any(len(run.curve_elapsed_s) != len(run.curve) for run in group):
        return None
    grid, mean, _, _ = _band(group)
    seconds = np.mean([_at(grid, run.elapsed_curve) for run in group], axis=0)
    return seconds / 60.0, mean


def plot_curves(runs: Sequence[Run], out_dir: Path, baseline: Sequence[Run] = ()) -> list[Path]:
    """One PNG per env, two panels: eval return vs env steps (one line, the mean, and a
    min–max band per config) and vs wall-clock minutes (the mean per config); in both the
    baseline's final return (mean over its seeds) dotted per dataset, the expert's dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_env: dict[str, dict[str, list[Run]]] = defaultdict(dict)
    for (env, config), members in group_runs(runs).items():
        by_env[env][config] = members
    written = []
    for env, groups in by_env.items():
        fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
        for config, members in groups.items():
            with_data = [run for run in members if run.curve]
            if not with_data:
                continue
            grid, mean, low, high = _band(with_data)
            label = f"{config} ({len(with_data)} seed{'s' if len(with_data) > 1 else ''})"
            (line,) = by_steps.plot(grid, mean, marker="o", markersize=3, label=label)
            color = line.get_color()
            if len(with_data) > 1:
                by_steps.fill_between(grid, low, high, color=color, alpha=0.2)
            timed = wall_clock_curve(with_data)
            if timed is not None:
                by_time.plot(*timed, marker="o", markersize=3, color=color)
            level = _finite(
                b.final.get("eval/return")
                for b in baseline
                if b.dataset_key == with_data[0].dataset_key
            )
            if level:
                for ax in (by_steps, by_time):
                    ax.axhline(
                        float(np.mean(level)),
                        color=color,
                        linestyle=":",
                        label=f"baseline, {config} ({np.mean(level):.0f})"
                        if ax is by_steps
                        else None,
                    )
        experts = _finite(run.expert_return for members in groups.values() for run in members)
        if experts:
            expert = float(np.median(experts))
            for ax in (by_steps, by_time):
                ax.axhline(
                    expert,
                    color="k",
                    linestyle="--",
                    label=f"expert ({expert:.0f})" if ax is by_steps else None,
                )
        fig.suptitle(f"{env}: eval return (mean over seeds; min–max band against env steps)")
        by_steps.set_xlabel("env steps")
        by_steps.set_ylabel("return")
        by_time.set_xlabel("wall-clock minutes since the run's start")
        for ax in (by_steps, by_time):
            ax.grid(alpha=0.3)
        if by_steps.get_legend_handles_labels()[0]:
            by_steps.legend(fontsize=7, loc="best")
        fig.tight_layout()
        path = out_dir / f"curves_{re.sub(r'[^A-Za-z0-9._-]+', '_', env)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def render(
    sweep_dir: Path, runs: Sequence[Run], pngs: Sequence[Path], baseline: Sequence[Run] = ()
) -> str:
    """report.md: the sweep's folder name, what the runs share, the table, the plots.

    Paths appear as names only (the PNGs sit beside report.md).
    """
    common = common_overrides(runs)
    finished = sum(run.finished for run in runs)
    pruned = sum(run.pruned for run in runs)
    lines = [
        f"# Sweep report: {sweep_dir.resolve().name}",
        "",
        f"{len(runs)} runs ({finished - pruned} finished, "
        + (f"{pruned} pruned, " if pruned else "")
        + f"{len(runs) - finished} partial). "
        "Final deterministic-eval figures, mean ± std (population) over seeds; a partial "
        "run counts with its latest logged values, a pruned one (stopped early by the "
        "search's pruner) with its last evaluation's.",
    ]
    if common:
        shared = ", ".join(f"{k}={_short(v)}" for k, v in sorted(common.items()))
        lines += ["", f"Overrides shared by every run: {shared}"]
    if baseline:
        lines += [
            "",
            f"Baseline: {len(baseline)} runs of {baseline[0].path.parent.resolve().name}, "
            "matched on env and "
            "dataset.* overrides (final normalized return, mean ± std over its seeds).",
        ]
    lines += ["", table(runs, baseline), ""]
    lines += [f"![{png.stem}]({png.name})" for png in pngs]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """The gail-report console script; returns the exit code (2 on bad input)."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=f"{PROGRAM}: {COMMANDS[PROGRAM].summary}",
        epilog=f"{command_list()}\n\ndocs: {DOCS}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sweep_dir", type=Path, help="a multirun sweep (or outputs) directory")
    parser.add_argument(
        "--out", type=Path, help="folder for report.md and the PNGs (default: the sweep dir)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a sweep to show beside each row (e.g. BC alone)"
    )
    args = parser.parse_args(argv)
    try:
        runs, warnings = find_runs(args.sweep_dir)
        baseline: list[Run] = []
        if args.baseline is not None:
            baseline, more = find_runs(args.baseline)
            warnings += more
        out: Path = args.out or args.sweep_dir
        out.mkdir(parents=True, exist_ok=True)
        pngs = plot_curves(runs, out, baseline)
        report = render(args.sweep_dir, runs, pngs, baseline)
        (out / "report.md").write_text(report)
    except GailError as exc:
        print(f"{PROGRAM}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        where = exc.filename or args.out or args.sweep_dir
        print(f"{PROGRAM}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in warnings:
        print(f"{PROGRAM}: warning: {warning}", file=sys.stderr)
    print(table(runs, baseline))
    print(f"\nwrote {out / 'report.md'} and {len(pngs)} plot(s) in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
