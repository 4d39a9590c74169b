"""Hydra sweep overrides as Optuna distributions.

``choice(a, b)`` and ``a,b`` -> categorical; ``range(start, stop, step)`` -> integers (or
floats) from start to stop in steps, both ends included as in Hydra's Optuna sweeper;
``interval(low, high)`` -> uniform floats, integers with ``int(interval(low, high))``;
``tag(log, ...)`` samples on a log scale. A plain value fixes the key for every trial.
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


class SearchSpaceError(ValueError):
    """A search-space override Optuna cannot sample."""


def _choices(override: Override) -> CategoricalDistribution:
    choices = list(override.sweep_iterator(transformer=Transformer.encode))
    for choice in choices:
        if not isinstance(choice, (str, int, float, bool, type(None))):
            raise SearchSpaceError(
                f"{override.input_line}: a choice must be a number, string, bool or null"
            )
    return CategoricalDistribution(choices)


def _range(override: Override, sweep: RangeSweep) -> BaseDistribution:
    if sweep.shuffle:
        return _choices(override)
    start, stop, step = sweep.start, sweep.stop, sweep.step
    assert start is not None and stop is not None
    if any(isinstance(v, float) for v in (start, stop, step)):
        return FloatDistribution(float(start), float(stop), step=float(step))
    return IntDistribution(int(start), int(stop), step=int(step))


def _interval(sweep: IntervalSweep) -> BaseDistribution:
    low, high, log = sweep.start, sweep.end, "log" in sweep.tags
    assert low is not None and high is not None
    if isinstance(low, int) and isinstance(high, int):
        return IntDistribution(low, high, log=log)
    return FloatDistribution(float(low), float(high), log=log)


def distribution(override: Override) -> BaseDistribution:
    """The distribution of one sweep override (``override.is_sweep_override()``)."""
    sweep = override.value()
    try:
        if override.is_choice_sweep():
            return _choices(override)
        if override.is_range_sweep():
            assert isinstance(sweep, RangeSweep)
            return _range(override, sweep)
        if override.is_interval_sweep():
            assert isinstance(sweep, IntervalSweep)
            return _interval(sweep)
    except ValueError as exc:  # Optuna's own check of the bounds
        raise SearchSpaceError(f"{override.input_line}: {exc}") from None
    raise SearchSpaceError(f"{override.input_line}: this kind of sweep cannot be searched")


def split_overrides(
    params: dict[str, str] | None, arguments: list[str]
) -> tuple[dict[str, BaseDistribution], list[str]]:
    """The search space and the fixed overrides of every trial.

    ``params`` is ``hydra.sweeper.params`` (key -> sweep expression); ``arguments`` are the
    command line's overrides, which win over ``params`` for the same key: a sweep there
    replaces that key's range, a plain value fixes it.
    """
    lines = [f"{key}={value}" for key, value in (params or {}).items()] + list(arguments)
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override)
        else:
            fixed[key] = override.input_line
    return space, list(fixed.values())


def as_override(key: str, value: Any) -> str:
    """``key=value`` for a sampled value, strings quoted so Hydra reads them back as given."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"{key}='{escaped}'"
    if value is None:
        return f"{key}=null"
    if isinstance(value, bool):
        return f"{key}={str(value).lower()}"
    return f"{key}={value!r}"
