"""Summaries of per-step training statistics (the seed's SequenceSummaryStats)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SummaryStats:
    """Mean, std (population), min, max and count of a sequence of scalars."""

    mean: float
    std: float
    min: float
    max: float
    count: int

    @classmethod
    def of(cls, values: torch.Tensor) -> SummaryStats:
        """Summarize a 1-D tensor; one host sync for all five figures."""
        values = values.detach().double().flatten()
        if values.numel() == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, 0)
        mean, std, lo, hi = torch.stack(
            [values.mean(), values.std(unbiased=False), values.min(), values.max()]
        ).tolist()
        return cls(mean, std, lo, hi, int(values.numel()))


def summarize(per_step: dict[str, list[torch.Tensor]]) -> dict[str, SummaryStats]:
    """Turn lists of 0-d (or 1-d) tensors, one list per statistic, into summaries."""
    return {
        name: SummaryStats.of(torch.stack([v.reshape(-1) for v in values]).flatten())
        for name, values in per_step.items()
        if values
    }
