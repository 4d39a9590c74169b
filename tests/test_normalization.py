"""Running statistics and the shared observation transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gail_cli.algo.normalization import ObservationNormalizer, RunningMeanStd


def test_running_statistics_equal_whole_batch_statistics() -> None:
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(1000, 4))
    rms = RunningMeanStd((4,))
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    assert np.allclose(rms.mean, data.mean(0))
    assert np.allclose(rms.var, data.var(0))
    assert rms.count == 1000


def test_running_mode_normalizes_clips_and_round_trips_its_state() -> None:
    data = np.random.default_rng(1).normal(5.0, 3.0, size=(5000, 2)).astype(np.float32)
    norm = ObservationNormalizer(2, "running", clip=2.0)
    norm.update(data)
    out = norm(torch.from_numpy(data))
    assert out.abs().max() <= 2.0
    inside = (np.abs(data - data.mean(0)) < 1.5 * data.std(0)).all(1)
    expected = (data[inside] - data.mean(0)) / data.std(0)
    assert np.allclose(out.numpy()[inside], expected, atol=1e-3)
    copy = ObservationNormalizer(2, "running", clip=2.0)
    copy.load_state_dict(norm.state_dict())
    assert torch.equal(copy(torch.from_numpy(data)), out)


def test_expert_mode_is_fitted_once_and_then_fixed() -> None:
    expert = np.random.default_rng(2).normal(10.0, 1.0, size=(1000, 3))
    norm = ObservationNormalizer(3, "expert")
    norm.fit(expert)
    mean = norm.rms.mean.copy()
    norm.update(np.zeros((500, 3)))  # policy data does not move an expert transform
    assert np.array_equal(norm.rms.mean, mean)
    assert np.allclose(mean, expert.mean(0))


def test_off_mode_is_the_identity() -> None:
    norm = ObservationNormalizer(3, "off")
    norm.update(np.ones((10, 3)) * 7)
    x = torch.randn(4, 3) * 50
    assert torch.equal(norm(x), x)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        ObservationNormalizer(3, "sometimes")
