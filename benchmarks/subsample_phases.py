"""Which phases of a periodic expert gait survive `dataset.subsample`, seed by seed.

A gait that repeats every P steps, cut to every N-th pair with N a multiple of P, keeps
one phase of the stride per episode. This script finds P from the autocorrelation of the
first kept episode's observations (after its first 100 steps), labels each kept pair with
the nearest of that episode's P mean phase observations, and prints, per seed, how many
kept pairs fall in each phase.

    python benchmarks/subsample_phases.py data/experts/HalfCheetah-v4.hdf5 \
        --episodes 4 --subsample 20 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gail_cli.data.experts import episode_ends, load_expert_data, subsample_pairs
from gail_cli.errors import GailError

SETTLE_STEPS = 100
MIN_CORRELATION = 0.5


def gait_period(obs: np.ndarray, longest: int) -> tuple[int, float] | None:
    """The period of a repeating gait, as the best autocorrelation lag after the first dip.

    obs: (T, obs_dim) one episode's observations. The mean autocorrelation over obs's dims
    is computed for lags 1..longest; a gait's period is the lag of its highest value after
    it first falls below 0. Returns (lag in steps, correlation), or None when it never
    falls below 0 or that highest value is under MIN_CORRELATION (no repeating gait
    within `longest` steps).
    """
    centred = (obs - obs.mean(0)) / (obs.std(0) + 1e-8)
    scores = np.array([(centred[:-lag] * centred[lag:]).mean() for lag in range(1, longest + 1)])
    below = np.flatnonzero(scores < 0)
    if below.size == 0:
        return None
    best = int(below[0] + np.argmax(scores[below[0] :]))
    if scores[best] < MIN_CORRELATION:
        return None
    return best + 1, float(scores[best])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--subsample", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    try:
        full = load_expert_data(args.path, num_trajectories=args.episodes)
        kept_per_seed = {seed: subsample_pairs(full, args.subsample, seed) for seed in args.seeds}
    except GailError as exc:
        sys.exit(f"subsample_phases: error: {exc}")
    first_end = int(episode_ends(full.terminals, full.timeouts)[0])
    steady = full.observations[SETTLE_STEPS:first_end]
    found = gait_period(steady, args.subsample)
    if found is None:
        print(f"no repeating gait within {args.subsample} steps")
        return
    period, corr = found
    scale = steady.std(0) + 1e-8
    phase_means = np.stack([steady[p::period].mean(0) for p in range(period)]) / scale
    print(f"gait period {period} steps (autocorrelation {corr:.2f}); subsample {args.subsample}")
    for seed, kept in kept_per_seed.items():
        dist = ((kept.observations / scale)[:, None, :] - phase_means[None]) ** 2
        counts = np.bincount(dist.sum(-1).argmin(1), minlength=period)
        print(f"seed {seed}: kept pairs per phase {counts.tolist()}")


if __name__ == "__main__":
    main()
