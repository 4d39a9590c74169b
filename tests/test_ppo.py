"""PPO math against direct computations on fixed tiny batches."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from gail_cli.algo.manual_mlp import ManualMLP
from gail_cli.algo.nets import Critic, GaussianActor
from gail_cli.algo.normalization import RunningMeanStd, discounted_reward_sums
from gail_cli.algo.ppo import PPO, compute_gae, next_state_values
from gail_cli.algo.ppo_loss import ManualGradient, policy_loss, value_loss
from gail_cli.algo.records import Minibatch
from gail_cli.errors import GailError
from gail_cli.settings import PPOConfig


def test_gae_matches_hand_computation_with_truncation_and_termination() -> None:
    # One env, 4 steps: step 1 is truncated (bootstrap from V(final obs)), step 3
    # terminates (no bootstrap); the last step of the rollout ends the recursion.
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    values = torch.tensor([[0.5], [0.6], [0.7], [0.8]])
    next_values = torch.tensor([[0.6], [10.0], [0.8], [99.0]])  # 10 = V(final obs)
    terminated = torch.tensor([[False], [False], [False], [True]])
    truncated = torch.tensor([[False], [True], [False], [False]])
    done = terminated | truncated
    adv = compute_gae(rewards, values, next_values, terminated, done, gamma, lam)
    d3 = 4.0 - 0.8  # terminated: no bootstrap
    d2 = 3.0 + 0.9 * 0.8 - 0.7
    d1 = 2.0 + 0.9 * 10.0 - 0.6  # truncated: bootstrap from the final observation
    d0 = 1.0 + 0.9 * 0.6 - 0.5
    a3 = d3
    a2 = d2 + gamma * lam * a3
    a1 = d1  # episode boundary: nothing from step 2 flows back
    a0 = d0 + gamma * lam * a1
    assert adv.squeeze(1).tolist() == pytest.approx([a0, a1, a2, a3], rel=1e-6)


def test_gae_bootstraps_a_termination_from_the_terminal_value_and_a_truncation_from_v() -> None:
    # as above, but what follows the termination is worth 5 (an absorbing state's value):
    # only the terminated step changes; the truncated one still uses V(final obs) = 10
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    values = torch.tensor([[0.5], [0.6], [0.7], [0.8]])
    next_values = torch.tensor([[0.6], [10.0], [0.8], [99.0]])
    terminated = torch.tensor([[False], [False], [False], [True]])
    truncated = torch.tensor([[False], [True], [False], [False]])
    done = terminated | truncated
    args = (rewards, values, next_values, terminated, done, gamma, lam)
    plain, absorbing = compute_gae(*args), compute_gae(*args, terminal_value=5.0)
    change = absorbing - plain
    assert change[3, 0].item() == pytest.approx(gamma * 5.0, rel=1e-6)
    assert change[2, 0].item() == pytest.approx(gamma * lam * gamma * 5.0, rel=1e-6)
    assert change[:2].abs().max().item() == 0.0  # the truncation cuts the recursion


def test_gae_last_step_of_rollout_bootstraps_without_successor() -> None:
    rewards = torch.tensor([[1.0, 1.0]])
    values = torch.tensor([[0.0, 0.0]])
    next_values = torch.tensor([[2.0, 2.0]])
    no = torch.tensor([[False, False]])
    adv = compute_gae(rewards, values, next_values, no, no, 0.5, 1.0)
    assert adv.tolist() == [[2.0, 2.0]]


def _tiny_actor() -> GaussianActor:
    torch.manual_seed(0)
    return GaussianActor(3, 2, [8], log_std_init=-0.3)


def test_plain_clip_loss_matches_direct_formula() -> None:
    actor = _tiny_actor()
    obs, actions = torch.randn(6, 3), torch.randn(6, 2)
    adv = torch.tensor([1.0, -1.0, 2.0, -2.0, 0.5, -0.5])
    old = actor.log_prob(obs, actions).detach() + torch.tensor([0.5, -0.5, 0.1, -0.1, 0.0, 0.3])
    cfg = PPOConfig(eps_clip=0.2, advantage_normalization=False)
    loss, entropy, _ = policy_loss(actor, obs, actions, old, adv, cfg)
    ratio = (actor.log_prob(obs, actions) - old).exp()
    expected = -torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    log_std = actor.log_std.detach()
    gauss_entropy = (0.5 + 0.5 * math.log(2 * math.pi) + log_std).sum()
    assert entropy.item() == pytest.approx(gauss_entropy.item(), rel=1e-6)


def test_dual_clip_floors_negative_advantages_only() -> None:
    actor = _tiny_actor()
    obs, actions = torch.randn(4, 3), torch.randn(4, 2)
    adv = torch.tensor([-1.0, -1.0, 1.0, 1.0])
    # large ratios (old log-prob far below new) make the plain objective very negative
    old = actor.log_prob(obs, actions).detach() - torch.tensor([3.0, 0.0, 3.0, 0.0])
    c = 2.0
    cfg = PPOConfig(eps_clip=0.2, dual_clip=c, advantage_normalization=False)
    loss, _, _ = policy_loss(actor, obs, actions, old, adv, cfg)
    ratio = (actor.log_prob(obs, actions) - old).exp()
    plain = torch.min(ratio * adv, ratio.clamp(0.8, 1.2) * adv)
    objective = torch.where(adv < 0, torch.max(plain, c * adv), plain)
    assert loss.item() == pytest.approx(-objective.mean().item(), rel=1e-6)
    assert objective[0].item() == pytest.approx(-c)  # floored: ratio e^3 would give -20


def test_advantage_normalization_is_per_minibatch() -> None:
    actor = _tiny_actor()
    obs, actions = torch.randn(5, 3), torch.randn(5, 2)
    old = actor.log_prob(obs, actions).detach()
    adv = torch.tensor([1.0, 2.0, 3.0, 4.0, 10.0])
    on, _, _ = policy_loss(actor, obs, actions, old, adv, PPOConfig(advantage_normalization=True))
    normed = (adv - adv.mean()) / (adv.std() + 1e-8)
    off, _, _ = policy_loss(
        actor, obs, actions, old, normed, PPOConfig(advantage_normalization=False)
    )
    assert on.item() == pytest.approx(off.item(), abs=1e-6)


def test_value_clip_takes_pessimistic_maximum() -> None:
    values = torch.tensor([1.0, 0.0, 2.0])
    old = torch.tensor([0.0, 0.0, 2.0])
    targets = torch.tensor([0.0, 1.0, 2.5])
    plain = value_loss(values, targets, old, PPOConfig(value_clip=False))
    assert plain.item() == pytest.approx(((targets - values) ** 2).mean().item())
    clipped = value_loss(values, targets, old, PPOConfig(value_clip=True, eps_clip=0.2))
    v_clip = old + (values - old).clamp(-0.2, 0.2)
    expected = torch.max((targets - values) ** 2, (targets - v_clip) ** 2).mean()
    assert clipped.item() == pytest.approx(expected.item())
    assert clipped.item() > plain.item() - 1e-9


def _ppo(**kwargs: object) -> PPO:
    torch.manual_seed(0)
    actor, critic = GaussianActor(3, 2, [16]), Critic(3, [16])
    return PPO(actor, critic, PPOConfig(**kwargs), torch.device("cpu"))  # type: ignore[arg-type]


def test_return_scaling_divides_by_running_std_without_centring() -> None:
    ppo = _ppo(return_scaling=True, gamma=0.0, gae_lambda=1.0)
    obs = torch.randn(4, 2, 3)
    rewards = torch.tensor([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]])
    no = torch.zeros(4, 2, dtype=torch.bool)
    ppo.return_scaler.rms.update(torch.tensor([0.0, 4.0]).numpy())  # var 4 -> std 2
    values = ppo.critic(obs.flatten(0, 1)).detach()
    adv, targets, v = ppo.advantages_and_returns(obs, obs, rewards, no, no, True)
    # gamma 0: unscaled return = reward; the target is it divided by the std before update
    assert targets.tolist() == pytest.approx((rewards.flatten() / math.sqrt(4 + 1e-8)).tolist())
    assert adv.tolist() == pytest.approx((rewards.flatten() - values * 2).tolist(), rel=1e-5)
    expected = RunningMeanStd()
    expected.update(torch.tensor([0.0, 4.0]).numpy())
    expected.update(rewards.flatten().numpy())
    assert ppo.return_scaler.rms.var == pytest.approx(expected.var)
    assert torch.allclose(v, values, atol=1e-6)


def test_discounted_reward_sums_restart_after_each_end_and_carry_over() -> None:
    rewards = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    done = np.array([[False, True], [True, False], [False, False]])
    sums, carry = discounted_reward_sums(rewards, done, np.array([10.0, 0.0]), gamma=0.5)
    # env 0: 1 + 0.5*10 = 6, 1 + 0.5*6 = 4 (ends), 1; env 1: 2 (ends), 2, 2 + 0.5*2 = 3
    assert sums.tolist() == [[6.0, 2.0], [4.0, 2.0], [1.0, 3.0]]
    assert carry.tolist() == [1.0, 3.0]


def test_return_scaling_std_does_not_feed_on_a_poor_critic() -> None:
    """A critic whose values vary by several of its units must not inflate the std.

    Tianshou's statistic (the GAE returns, which bootstrap from the scaled critic) grew
    geometrically here: a std of 5e7 after 5 rollouts, 4e23 after 20.
    """
    ppo = _ppo(return_scaling=True, gamma=0.99, gae_lambda=0.95)
    with torch.no_grad():
        ppo.critic.net[-1].weight.mul_(200.0)  # values far off, varying across states
    torch.manual_seed(1)
    no = torch.zeros(64, 4, dtype=torch.bool)
    rewards = -0.6 + 0.1 * torch.randn(20, 64, 4)
    for k in range(20):
        obs, next_obs = torch.randn(64, 4, 3), torch.randn(64, 4, 3)
        ppo.advantages_and_returns(obs, next_obs, rewards[k], no, no, True)
    sums, _ = discounted_reward_sums(
        rewards.flatten(0, 1).numpy().astype(np.float64),
        no.repeat(20, 1).numpy(),
        np.zeros(4),
        gamma=0.99,
    )
    assert math.sqrt(ppo.return_scaler.rms.var) == pytest.approx(sums.std(), rel=1e-6)


def test_update_reports_seed_statistics_and_counts_gradient_steps() -> None:
    ppo = _ppo(repeat_per_collect=3, batch_size=4)
    obs = torch.randn(4, 2, 3)
    actions = torch.randn(4, 2, 2)
    rewards = torch.randn(4, 2)
    no = torch.zeros(4, 2, dtype=torch.bool)
    stats = ppo.update(obs, obs, actions, rewards, no, no)
    assert stats.gradient_steps == 3 * 2  # 8 samples / 4 per minibatch, 3 repeats
    for summary in (stats.loss, stats.actor_loss, stats.vf_loss, stats.ent_loss):
        assert summary.count == 6
    assert stats.train_time > 0
    assert math.isfinite(stats.smoothed_loss)


def test_gradient_clipping_caps_the_norm() -> None:
    ppo = _ppo(max_grad_norm=0.01, batch_size=8, repeat_per_collect=1)
    seen: list[float] = []
    original_step = ppo.optim.step

    def record_then_step(*args: object, **kwargs: object) -> None:
        assert ppo.flat.grad is not None
        seen.append(ppo.flat.grad.norm().item())
        original_step()

    ppo.optim.step = record_then_step  # type: ignore[method-assign]
    obs = torch.randn(4, 2, 3) * 10
    rewards = torch.full((4, 2), 100.0)
    no = torch.zeros(4, 2, dtype=torch.bool)
    ppo.update(obs, obs, torch.randn(4, 2, 2), rewards, no, no)
    assert seen and max(seen) <= 0.01 * (1 + 1e-4)


def test_recompute_advantage_recomputes_each_repeat() -> None:
    calls: list[int] = []
    ppo = _ppo(recompute_advantage=True, repeat_per_collect=3, batch_size=8)
    original = ppo.advantages_and_returns

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    ppo.advantages_and_returns = counting  # type: ignore[method-assign]
    no = torch.zeros(4, 2, dtype=torch.bool)
    ppo.update(
        torch.randn(4, 2, 3), torch.randn(4, 2, 3), torch.randn(4, 2, 2), torch.randn(4, 2), no, no
    )
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("eps_clip", 0.0),
        ("dual_clip", 1.0),
        ("gamma", 1.5),
        ("gamma", -0.1),
        ("gae_lambda", 1.1),
        ("batch_size", 0),
        ("max_batchsize", 0),
        ("repeat_per_collect", 0),
        ("lr", 0.0),
        ("max_grad_norm", -1.0),
        ("gradient", "fast"),
    ],
)
def test_parameter_validation_names_parameter_value_and_range(name: str, value: float) -> None:
    with pytest.raises(GailError, match=rf"ppo\.{name}={value}.*must be"):
        PPOConfig(**{name: value})  # type: ignore[arg-type]


def test_flat_parameter_steps_match_per_layer_adam_with_clipping() -> None:
    torch.manual_seed(0)
    actor, critic = GaussianActor(3, 2, [16, 16]), Critic(3, [16])
    ref_actor, ref_critic = copy.deepcopy(actor), copy.deepcopy(critic)
    cfg = PPOConfig(max_grad_norm=0.05, lr=1e-2)
    ppo = PPO(actor, critic, cfg, torch.device("cpu"))
    ref_params = [*ref_actor.parameters(), *ref_critic.parameters()]
    ref_optim = torch.optim.Adam(ref_params, lr=1e-2, eps=1e-5)
    batch = [torch.randn(32, 3), torch.randn(32, 2), torch.randn(32), torch.randn(32)]
    batch += [torch.randn(32), torch.randn(32)]
    for _ in range(3):
        ppo._minibatch_step(Minibatch(*batch))
        obs, actions, old, adv, targets, old_values = batch
        actor_loss, entropy, _ = policy_loss(ref_actor, obs, actions, old, adv, cfg)
        loss = actor_loss + cfg.vf_coef * value_loss(ref_critic(obs), targets, old_values, cfg)
        loss = loss - cfg.ent_coef * entropy
        ref_optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref_params, cfg.max_grad_norm)
        ref_optim.step()
    for mine, ref in zip([*actor.parameters(), *critic.parameters()], ref_params, strict=True):
        assert torch.allclose(mine, ref, atol=1e-6)
    # the modules' parameters really are views of the one flat tensor
    assert actor.log_std.data_ptr() >= ppo.flat.data_ptr()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"advantage_normalization": True, "ent_coef": 0.05},
        {"dual_clip": 2.0, "eps_clip": 0.1},
        {"value_clip": True, "eps_clip": 0.05, "vf_coef": 0.7},
    ],
)
@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
def test_hand_derived_gradient_equals_autograd(options: dict[str, object], activation: str) -> None:
    """The hand-derived loss and every parameter's gradient match autograd of the reference loss.

    Old log-probs and values are offset so that ratios and value changes fall on both
    sides of the clip ranges and advantages have both signs.
    """
    torch.manual_seed(1)
    actor = GaussianActor(5, 3, [16, 8], activation, log_std_init=-0.4)
    critic = Critic(5, [12, 6], activation)
    cfg = PPOConfig(**options)  # type: ignore[arg-type]
    ref_actor, ref_critic = copy.deepcopy(actor), copy.deepcopy(critic)
    ppo = PPO(actor, critic, cfg, torch.device("cpu"))
    obs, actions = torch.randn(40, 5), torch.randn(40, 3)
    with torch.no_grad():
        old = ref_actor.log_prob(obs, actions) + 0.6 * torch.randn(40)
        old_values = ref_critic(obs) + 0.1 * torch.randn(40)
    adv, targets = torch.randn(40), torch.randn(40)
    batch = Minibatch(obs, actions, old, adv, targets, old_values)
    assert isinstance(ppo.gradient_engine, ManualGradient)
    *losses, log_ratio = ppo.gradient_engine(batch)
    actor_loss, entropy, _ = policy_loss(ref_actor, obs, actions, old, adv, cfg)
    vf_loss = value_loss(ref_critic(obs), targets, old_values, cfg)
    loss = actor_loss + cfg.vf_coef * vf_loss - cfg.ent_coef * entropy
    loss.backward()
    expected = (actor_loss, vf_loss, entropy)
    for mine, ref in zip(losses, expected, strict=True):
        assert mine.item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-7)
    with torch.no_grad():
        assert torch.allclose(log_ratio, ref_actor.log_prob(obs, actions) - old, atol=1e-5)
    refs = [*ref_actor.parameters(), *ref_critic.parameters()]
    for mine, ref in zip([*actor.parameters(), *critic.parameters()], refs, strict=True):
        assert ref.grad is not None and mine.grad is not None
        assert torch.allclose(mine.grad, ref.grad, rtol=1e-4, atol=1e-6)


def test_next_values_reuse_equals_a_critic_pass_over_next_observations() -> None:
    """Rows inside an episode take V(s_{t+1}) from the next row; ends use the final obs."""
    ppo = _ppo()
    torch.manual_seed(3)
    obs = torch.randn(5, 3, 3)
    next_obs = torch.cat([obs[1:], torch.randn(1, 3, 3)])
    done = torch.zeros(5, 3, dtype=torch.bool)
    done[1, 0] = done[3, 2] = True
    next_obs[1, 0] = torch.randn(3)  # true final observations differ from the next row
    next_obs[3, 2] = torch.randn(3)
    with torch.no_grad():
        values = ppo.critic(obs.flatten(0, 1)).view(5, 3)
        expected = ppo.critic(next_obs.flatten(0, 1)).view(5, 3)
    reused = next_state_values(values, next_obs, done, ppo._values, max_batchsize=4)
    assert torch.allclose(reused, expected, atol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
def test_manual_mlp_forward_equals_the_module(activation: str) -> None:
    torch.manual_seed(4)
    net = Critic(7, [32, 16], activation).net
    x = torch.randn(50, 7) * 3
    with torch.no_grad():
        assert torch.allclose(ManualMLP(net).output(x), net(x), rtol=1e-5, atol=1e-6)
