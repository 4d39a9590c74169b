"""Wall-clock seconds per named phase, summed over a run (the loop's time breakdown)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class PhaseTimer:
    """Cumulative wall seconds by phase name: ``with timer("collect"): ...``.

    ``seconds`` is a plain mapping of phase -> seconds (0 for a phase never timed).
    """

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``phase`` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start

    def add(self, seconds: Mapping[str, float]) -> None:
        """Add seconds measured elsewhere (e.g. a learner's own phases)."""
        for phase, value in seconds.items():
            self.seconds[phase] += value

    @property
    def total(self) -> float:
        """Seconds of every phase together."""
        return sum(self.seconds.values())
