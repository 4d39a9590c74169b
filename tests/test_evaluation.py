"""The background evaluator plays the same episodes as the inline one, and fails cleanly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gail_cli.algo.nets import GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.errors import GailError
from gail_cli.run.envs import env_spec, make_vector_env
from gail_cli.run.evaluation import BackgroundEvaluator, InlineEvaluator

ENV_ID = "Hopper-v4"


def _policy() -> tuple[GaussianActor, ObservationNormalizer]:
    torch.manual_seed(0)
    actor = GaussianActor(11, 3, [16])
    normalizer = ObservationNormalizer(11, "running")
    normalizer.update(np.random.default_rng(0).normal(size=(100, 11)))
    return actor, normalizer


def test_background_results_equal_inline_results_in_order() -> None:
    actor, normalizer = _policy()
    envs = make_vector_env(ENV_ID, 3)
    inline = InlineEvaluator(envs, env_spec(envs, ENV_ID), torch.device("cpu"), seed=7)
    background = BackgroundEvaluator(ENV_ID, 3, seed=7)
    try:
        for step in (100, 200):
            inline.submit(step, actor, normalizer)
            background.submit(step, actor, normalizer)
            with torch.no_grad():  # the policy changes after the snapshot was taken
                actor.mean_net[0].weight.mul_(3.0)
        expected, got = inline.wait(), background.wait()
        assert background.poll() == [] and background.outstanding == 0
    finally:
        inline.close()
        background.close()
    assert [step for step, _ in got] == [100, 200]
    for (_, mine), (_, ref) in zip(got, expected, strict=True):
        assert mine.shape == (3,)
        np.testing.assert_array_equal(mine, ref)
    # the second snapshot really was another policy
    assert not np.array_equal(expected[0][1], expected[1][1])


def test_a_dead_worker_is_one_clear_error() -> None:
    actor, normalizer = _policy()
    background = BackgroundEvaluator(ENV_ID, 2, seed=0)
    try:
        background.process.kill()
        background.process.wait()
        with pytest.raises(GailError, match=r"evaluation process stopped.*eval_in_background"):
            background.submit(1, actor, normalizer)
            background.wait()
    finally:
        background.close()


def test_a_failing_evaluation_is_one_line_from_the_worker() -> None:
    torch.manual_seed(0)
    wrong_actor = GaussianActor(5, 3, [8])  # Hopper observations have 11 dimensions
    background = BackgroundEvaluator(ENV_ID, 2, seed=0)
    try:
        background.submit(42, wrong_actor, ObservationNormalizer(11, "off"))
        with pytest.raises(GailError, match=r"^evaluation at env step 42 failed: RuntimeError"):
            background.wait()
        # the worker is still there for the next snapshot
        actor, normalizer = _policy()
        background.submit(43, actor, normalizer)
        ((step, returns),) = background.wait()
        assert step == 43 and returns.shape == (2,)
    finally:
        background.close()
