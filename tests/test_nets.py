"""The networks' probability computations against torch.distributions."""

from __future__ import annotations

import pytest
import torch

from gail_cli.algo.nets import Critic, Discriminator, GaussianActor


def test_actor_log_prob_and_entropy_match_torch_normal() -> None:
    torch.manual_seed(0)
    actor = GaussianActor(5, 3, [16, 16], log_std_init=-0.7)
    obs, actions = torch.randn(10, 5), torch.randn(10, 3) * 2
    reference = torch.distributions.Normal(actor(obs), actor.log_std.exp())
    assert actor.log_prob(obs, actions).tolist() == pytest.approx(
        reference.log_prob(actions).sum(-1).tolist(), rel=1e-5
    )
    assert actor.entropy().item() == pytest.approx(reference.entropy()[0].sum().item(), rel=1e-6)


def test_actor_samples_have_the_policy_std() -> None:
    torch.manual_seed(0)
    actor = GaussianActor(2, 2, [8], log_std_init=-1.0)
    obs = torch.zeros(20000, 2)
    samples = actor.sample(obs) - actor(obs)
    assert samples.std(0).tolist() == pytest.approx([torch.e**-1.0] * 2, rel=0.03)


def test_shapes() -> None:
    critic = Critic(4, [8])
    disc = Discriminator(4, 2, [8], spectral_norm=True)
    assert critic(torch.randn(7, 4)).shape == (7,)
    assert disc(torch.randn(7, 4), torch.randn(7, 2)).shape == (7,)
