"""Behavioral-cloning warm start and the critic warm-up that protects it."""

from __future__ import annotations

import numpy as np
import torch

from gail_cli.algo.bc import CloneLoss, behavior_clone
from gail_cli.algo.nets import Critic, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO
from gail_cli.settings import PPOConfig


def _ppo() -> PPO:
    torch.manual_seed(0)
    actor, critic = GaussianActor(3, 2, [32, 32]), Critic(3, [16])
    return PPO(actor, critic, PPOConfig(batch_size=8, repeat_per_collect=2), torch.device("cpu"))


def _linear_expert(n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Observations (n, 3) and the actions (n, 2) of a fixed, smooth expert."""
    gen = torch.Generator().manual_seed(1)
    obs = torch.randn(n, 3, generator=gen) * 5 + 2
    actions = torch.tanh(obs[:, :2] * 0.2 - obs[:, 2:] * 0.1)
    return obs, actions


def _update(ppo: PPO) -> None:
    obs = torch.randn(4, 4, 3)
    no = torch.zeros(4, 4, dtype=torch.bool)
    ppo.update(obs, obs, torch.randn(4, 4, 2), torch.randn(4, 4), no, no)


def test_behavior_clone_fits_the_expert_through_the_observation_transform() -> None:
    ppo = _ppo()
    obs, actions = _linear_expert()
    normalizer = ObservationNormalizer(3, "expert")
    normalizer.fit(obs.numpy())
    before, after = behavior_clone(ppo.actor, normalizer, obs, actions, steps=1500)
    assert before > 0.05
    assert after < 0.05 * before
    with torch.no_grad():
        mse = (ppo.actor(normalizer(obs)) - actions).pow(2).mean().item()
    assert np.isclose(mse, after, rtol=1e-5)


def test_ppo_still_moves_the_actor_after_cloning() -> None:
    """Cloning must keep the actor's gradients as views of PPO's flat gradient."""
    ppo = _ppo()
    obs, actions = _linear_expert()
    behavior_clone(ppo.actor, ObservationNormalizer(3, "off"), obs, actions, steps=20)
    cloned = [p.detach().clone() for p in ppo.actor.parameters()]
    assert ppo.flat.grad is not None and not ppo.flat.grad.any()
    _update(ppo)
    moved = [not torch.equal(a, p) for a, p in zip(cloned, ppo.actor.parameters(), strict=True)]
    assert all(moved)


def test_critic_warmup_updates_the_critic_and_leaves_the_actor() -> None:
    ppo = _ppo()
    actor_before = [p.detach().clone() for p in ppo.actor.parameters()]
    critic_before = [p.detach().clone() for p in ppo.critic.parameters()]
    ppo.set_critic_warmup(True)
    _update(ppo)
    _update(ppo)
    for before, p in zip(actor_before, ppo.actor.parameters(), strict=True):
        assert torch.equal(before, p)
    assert all(
        not torch.equal(b, p) for b, p in zip(critic_before, ppo.critic.parameters(), strict=True)
    )
    ppo.set_critic_warmup(False)
    _update(ppo)
    assert not torch.equal(actor_before[0], next(ppo.actor.parameters()))


def test_the_actor_starts_after_a_critic_warmup_with_a_fresh_adams_step() -> None:
    """Adam's bias correction must count the actor's own steps, not the critic's.

    With one count, after many critic-only steps the actor's first step would be about
    1.6 lr here (its zero moments bias-corrected as if long trained); a fresh Adam's
    first step moves each parameter by at most lr.
    """
    torch.manual_seed(0)
    actor, critic = GaussianActor(3, 2, [8]), Critic(3, [8])
    config = PPOConfig(batch_size=16, repeat_per_collect=100, lr=1e-3, max_grad_norm=None)
    ppo = PPO(actor, critic, config, torch.device("cpu"))
    ppo.set_critic_warmup(True)
    for _ in range(3):  # 100 minibatch steps each
        _update(ppo)
    before = torch.cat([p.detach().flatten() for p in actor.parameters()])
    ppo.set_critic_warmup(False)
    config.repeat_per_collect = 1
    _update(ppo)  # one minibatch step
    after = torch.cat([p.detach().flatten() for p in actor.parameters()])
    largest = (after - before).abs().max().item()
    assert 0.5 * config.lr < largest <= config.lr * 1.001


def test_clone_loss_weight_decays_linearly_to_zero_and_then_leaves_the_actor_alone() -> None:
    ppo = _ppo()
    obs, actions = _linear_expert()
    normalizer = ObservationNormalizer(3, "expert")
    normalizer.fit(obs.numpy())
    clone = CloneLoss(ppo.actor, normalizer, obs, actions, coef=2.0, decay=0.5, steps=50)
    weights = []
    for remaining in (1.0, 0.75, 0.5, 0.2):
        clone.set_fraction(remaining)
        weights.append(clone.weight)
    assert weights == [2.0, 1.0, 0.0, 0.0]  # 2 * (1 - spent / 0.5), floored at 0
    assert clone.step() == 0.0
    frozen = [p.detach().clone() for p in ppo.actor.parameters()]
    _update(ppo)  # PPO's gradient views stay intact around the term's steps
    moved = [p.detach().clone() for p in ppo.actor.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(frozen, moved, strict=True))
    clone.step()
    assert all(torch.equal(a, p) for a, p in zip(moved, ppo.actor.parameters(), strict=True))
    clone.set_fraction(1.0)

    def mse() -> float:
        with torch.no_grad():
            return float((ppo.actor.mean_net(normalizer(obs)) - actions).pow(2).mean())

    before = mse()
    for _ in range(20):
        clone.step()
        _update(ppo)
    assert mse() < before / 4  # the term pulls the mean toward the expert's actions
