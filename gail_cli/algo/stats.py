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


def normalized_return(
    mean_return: float, expert_return: float, random_return: float | None = None
) -> float:
    """A return as a fraction of the expert's: R / R_expert, or, where the env states the
    return of uniformly random actions (``env.random_return``, for envs whose returns
    can be negative), (R - R_random) / (R_expert - R_random). 1 = the expert."""
    if random_return is None:
        return mean_return / expert_return
    return (mean_return - random_return) / (expert_return - random_return)


def expert_from_normalized(
    mean_return: float, normalized: float, random_return: float | None = None
) -> float:
    """The expert return that :func:`normalized_return` divided by (its inverse in R_expert)."""
    if random_return is None:
        return mean_return / normalized
    return random_return + (mean_return - random_return) / normalized


def summarize(per_step: dict[str, list[torch.Tensor]]) -> dict[str, SummaryStats]:
    """Turn lists of 0-d (or 1-d) tensors, one list per statistic, into summaries."""
    return {
        name: SummaryStats.of(torch.stack([v.reshape(-1) for v in values]).flatten())
        for name, values in per_step.items()
        if values
    }
