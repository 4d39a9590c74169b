"""Discriminator math and the GAIL update against direct formulas."""

from __future__ import annotations

import math

import pytest
import torch

from gail_cli.algo.gail import (
    ABSORBING_AVERAGE,
    ABSORBING_FLOOR,
    GAIL,
    absorbing_logit,
    absorbing_value,
    accuracies,
    discriminator_loss,
    gradient_penalty,
    policy_reward,
)
from gail_cli.algo.nets import Critic, Discriminator, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO
from gail_cli.algo.records import Rollout
from gail_cli.algo.stats import PPOStats
from gail_cli.errors import GailError
from gail_cli.settings import DiscriminatorConfig, PPOConfig


class LinearLogit(torch.nn.Module):
    """d(obs, act) = w · [obs, act]: its gradient is w everywhere."""

    def __init__(self, weights: list[float]) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(weights))

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs, act], dim=-1) @ self.w


@pytest.mark.parametrize("target", [1.0, 0.0, 2.5])
def test_gradient_penalty_pulls_the_slope_toward_its_target(target: float) -> None:
    disc = LinearLogit([3.0, 0.0, 4.0])  # slope 5 at every interpolate
    obs_e, obs_p = torch.randn(8, 2), torch.randn(8, 2)
    act_e, act_p = torch.randn(8, 1), torch.randn(8, 1)
    penalty = gradient_penalty(disc, obs_e, act_e, obs_p, act_p, target)  # type: ignore[arg-type]
    assert penalty.item() == pytest.approx((5.0 - target) ** 2, rel=1e-5)
    penalty.backward()
    # d/dw (|w| - t)^2 = 2 (|w| - t) w / |w|; for t = 0 that is 2 w (finite at any w)
    expected = 2 * (5.0 - target) * torch.tensor([3.0, 0.0, 4.0]) / 5.0
    assert disc.w.grad is not None
    assert disc.w.grad.tolist() == pytest.approx(expected.tolist(), rel=1e-5)


def test_zero_centred_gradient_penalty_is_finite_at_a_flat_discriminator() -> None:
    disc = LinearLogit([0.0, 0.0, 0.0])
    x = torch.randn(4, 2), torch.randn(4, 1), torch.randn(4, 2), torch.randn(4, 1)
    penalty = gradient_penalty(disc, *x, target=0.0)  # type: ignore[arg-type]
    penalty.backward()
    assert penalty.item() == 0.0 and torch.isfinite(disc.w.grad).all()  # type: ignore[arg-type]


def test_loss_reward_and_accuracies_match_direct_formulas() -> None:
    d_exp = torch.tensor([2.0, -1.0, 0.5, 3.0])
    d_pi = torch.tensor([-2.0, 1.0, -0.5])
    sig = torch.sigmoid
    expected = -torch.log(sig(d_exp)).mean() - torch.log(1 - sig(d_pi)).mean()
    assert discriminator_loss(d_exp, d_pi).item() == pytest.approx(expected.item(), rel=1e-6)
    acc_exp, acc_pi = accuracies(d_exp, d_pi)
    assert acc_exp.item() == pytest.approx(3 / 4)
    assert acc_pi.item() == pytest.approx(2 / 3)
    logits = torch.tensor([-3.0, 0.0, 4.0])
    direct = -torch.log(1 - sig(logits))
    assert policy_reward(logits).tolist() == pytest.approx(direct.tolist(), rel=1e-6)


def test_reward_is_stable_for_large_logits() -> None:
    reward = policy_reward(torch.tensor([80.0, -80.0]))
    assert torch.isfinite(reward).all()
    assert reward[0].item() == pytest.approx(80.0)
    assert reward[1].item() == pytest.approx(0.0, abs=1e-30)


def _gail(
    expert_obs: torch.Tensor,
    expert_act: torch.Tensor,
    expert_absorbing: int = 0,
    absorbing_weight: float = 1.0,
    **disc_kwargs: float,
) -> GAIL:
    obs_dim, act_dim = expert_obs.shape[1], expert_act.shape[1]
    actor = GaussianActor(obs_dim, act_dim, [16])
    ppo = PPO(
        actor,
        Critic(obs_dim, [16]),
        PPOConfig(batch_size=16, repeat_per_collect=1, lr_decay=False),
        torch.device("cpu"),
    )
    disc = Discriminator(obs_dim, act_dim, [32, 32])
    return GAIL(
        ppo,
        disc,
        # Tianshou's plain discriminator unless a test asks for more
        DiscriminatorConfig(**{"grad_penalty": 0.0, "expert_action_noise": False, **disc_kwargs}),  # type: ignore[arg-type]
        ObservationNormalizer(obs_dim, "off"),
        expert_obs,
        expert_act,
        action_low=-torch.ones(act_dim),
        action_high=torch.ones(act_dim),
        expert_absorbing=expert_absorbing,
        absorbing_weight=absorbing_weight,
    )


def test_discriminator_separates_two_gaussians() -> None:
    torch.manual_seed(0)
    expert_obs = torch.randn(2000, 3) + 2.0
    expert_act = torch.full((2000, 2), 0.5)
    gail = _gail(expert_obs, expert_act, lr=1e-3, disc_update_num=4)
    for _ in range(100):  # 400 discriminator steps
        stats = gail.update_discriminator(torch.randn(512, 3) - 2.0, torch.full((512, 2), -0.5))
    assert stats.acc_exp.mean > 0.95
    assert stats.acc_pi.mean > 0.95
    assert stats.disc_loss.count == 4


def test_each_discriminator_step_uses_an_equal_expert_sample() -> None:
    torch.manual_seed(0)
    gail = _gail(torch.randn(50, 3), torch.zeros(50, 2), disc_update_num=3)
    sizes: list[tuple[int, int]] = []
    forward = gail.disc.forward

    def spy(obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        sizes.append((obs.shape[0], act.shape[0]))
        return forward(obs, act)

    gail.disc.forward = spy  # type: ignore[method-assign]
    gail.update_discriminator(torch.randn(30, 3), torch.zeros(30, 2))
    assert sizes == [(10, 10)] * 6  # 3 steps, each: expert batch then policy batch


def test_update_clips_policy_actions_and_normalizes_expert_and_policy_alike() -> None:
    torch.manual_seed(0)
    expert_obs = torch.randn(100, 3) * 5 + 7
    gail = _gail(expert_obs, torch.zeros(100, 2), disc_update_num=1)
    gail.normalizer = ObservationNormalizer(3, "running")
    gail.normalizer.update(expert_obs.numpy())
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    forward = gail.disc.forward

    def spy(obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        seen.append((obs.detach().clone(), act.detach().clone()))
        return forward(obs, act)

    gail.disc.forward = spy  # type: ignore[method-assign]
    t, n = 4, 2
    raw = torch.randn(t, n, 3) * 5 + 7
    rollout = Rollout(
        obs=raw,
        next_obs=raw,
        actions=torch.full((t, n, 2), 3.0),  # outside the bounds [-1, 1]
        terminated=torch.zeros(t, n, dtype=torch.bool),
        truncated=torch.zeros(t, n, dtype=torch.bool),
        env_rewards=torch.zeros(t, n),
    )
    stats = gail.update(rollout)
    expert_obs_seen, _ = seen[0]
    policy_obs_seen, policy_act_seen = seen[1]
    # both sides went through the same transform: normalized data has mean ~0, std ~1
    assert expert_obs_seen.mean().abs() < 0.5 and policy_obs_seen.mean().abs() < 1.0
    assert torch.equal(policy_act_seen, torch.ones_like(policy_act_seen))  # clipped
    figures = stats.train_scalars()
    for name in ("disc_loss", "acc_pi", "acc_exp", "loss", "actor_loss", "vf_loss", "ent_loss"):
        assert name in figures
    assert stats.disc_reward > 0 and stats.rollout_scalars()["rollout/disc_reward"] > 0


def test_reward_forms_are_their_formulas_in_terms_of_d() -> None:
    logits = torch.linspace(-6.0, 6.0, 25, dtype=torch.float64)
    d = torch.sigmoid(logits)
    expected = {
        "gail": -torch.log(1 - d),
        "airl": torch.log(d) - torch.log(1 - d),
        "log_d": torch.log(d),
    }
    for form, reward in expected.items():
        assert torch.allclose(policy_reward(logits, form), reward, atol=1e-9), form
    # saturated logits: the airl form keeps telling bad from worse, the gail form cannot
    saturated = torch.tensor([-30.0, -40.0])
    assert policy_reward(saturated, "airl").tolist() == [-30.0, -40.0]
    assert policy_reward(saturated, "gail")[0].item() < 1e-12


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("disc_update_num", 0),
        ("lr", -1.0),
        ("grad_penalty", -1.0),
        ("grad_penalty_target", -0.5),
        ("reward_form", "wgan"),
    ],
)
def test_discriminator_validation(name: str, value: float | str) -> None:
    with pytest.raises(GailError, match=rf"discriminator\.{name}={value}"):
        DiscriminatorConfig(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("noise", [False, True])
def test_expert_action_noise_has_the_policy_std_and_stays_in_bounds(noise: bool) -> None:
    torch.manual_seed(0)
    expert_act = torch.full((4000, 2), 0.2)
    gail = _gail(torch.randn(4000, 3), expert_act, disc_update_num=1, expert_action_noise=noise)
    with torch.no_grad():
        gail.ppo.actor.log_std.copy_(torch.log(torch.tensor([0.1, 2.0])))
    seen: list[torch.Tensor] = []
    forward = gail.disc.forward

    def spy(obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        seen.append(act.detach().clone())
        return forward(obs, act)

    gail.disc.forward = spy  # type: ignore[method-assign]
    gail.update_discriminator(torch.randn(4000, 3), torch.zeros(4000, 2))
    expert_seen = seen[0]
    if not noise:
        assert torch.equal(expert_seen, torch.full_like(expert_seen, 0.2))
        return
    assert expert_seen.abs().max() <= 1.0  # clipped to the action bounds like the policy's
    assert expert_seen[:, 0].std().item() == pytest.approx(0.1, rel=0.1)
    assert expert_seen[:, 0].mean().item() == pytest.approx(0.2, abs=0.01)
    # std 2 on a [-1, 1] box: most samples land on a bound
    assert (expert_seen[:, 1].abs() == 1.0).float().mean() > 0.5


@pytest.mark.parametrize("decay", [False, True])
def test_discriminator_lr_follows_the_schedule_only_with_lr_decay(decay: bool) -> None:
    gail = _gail(torch.randn(10, 3), torch.zeros(10, 2), lr=1e-3, lr_decay=decay)
    gail.set_lr_fraction(0.25)
    expected = 0.25e-3 if decay else 1e-3
    assert [g["lr"] for g in gail.disc_optim.param_groups] == [pytest.approx(expected)]
    assert gail.ppo.optim.lr == pytest.approx(gail.ppo.config.lr)  # PPO's own lr_decay is off


# -- absorbing states ---------------------------------------------------------------------


def test_the_absorbing_logit_is_the_log_ratio_of_the_two_sides_fractions() -> None:
    assert absorbing_logit(0.02, 0.01) == pytest.approx(math.log(2.0))
    assert absorbing_logit(0.0, 0.0) == 0.0  # neither side ends: neutral
    assert absorbing_logit(0.0, 0.01) == pytest.approx(math.log(ABSORBING_FLOOR / 0.01))


def test_expert_absorbing_samples_weigh_one_over_subsample_against_each_pair() -> None:
    # 40 kept pairs (every 20th step of 4 episodes of 200), 2 episodes terminated:
    # 2 x (1/20) = 0.1 absorbing samples against 40 pairs, as in the full 800 steps
    gail = _gail(torch.randn(40, 3), torch.zeros(40, 2), expert_absorbing=2, absorbing_weight=0.05)
    assert gail.expert_absorbing_fraction == pytest.approx(0.1 / 40.1)
    full = _gail(torch.randn(800, 3), torch.zeros(800, 2), expert_absorbing=2)
    assert full.expert_absorbing_fraction == pytest.approx(2 / 802)


def test_the_policy_fraction_is_a_running_average_over_rollouts() -> None:
    gail = _gail(torch.randn(100, 3), torch.zeros(100, 2), expert_absorbing=1, absorbing=True)
    expert = gail.expert_absorbing_fraction  # 1 / 101
    reward = gail.absorbing_reward(terminations=1, steps=100)  # as often as the expert
    assert gail.policy_absorbing_fraction == pytest.approx(expert)
    assert reward == pytest.approx(math.log(2.0))  # gail form at D = 1/2
    gail.absorbing_reward(terminations=5, steps=95)  # now 5 in 100
    average = (1 - ABSORBING_AVERAGE) * expert + ABSORBING_AVERAGE * 0.05
    assert gail.policy_absorbing_fraction == pytest.approx(average)
    # ending episodes more often than the expert lowers the absorbing state's reward
    assert gail.absorbing_reward(terminations=5, steps=95) < math.log(2.0)


@pytest.mark.parametrize("form", ["gail", "airl"])
def test_terminated_steps_bootstrap_from_the_absorbing_states_value(form: str) -> None:
    torch.manual_seed(0)
    gail = _gail(
        torch.randn(40, 3), torch.zeros(40, 2), expert_absorbing=3, absorbing=True, reward_form=form
    )
    passed: dict[str, object] = {}
    ppo_update = gail.ppo.update

    def spy(*args: torch.Tensor, **kwargs: float) -> PPOStats:
        passed.update(kwargs, terminated=args[4])
        return ppo_update(*args, **kwargs)  # type: ignore[return-value]

    gail.ppo.update = spy  # type: ignore[method-assign]
    t, n = 4, 2
    terminated = torch.zeros(t, n, dtype=torch.bool)
    terminated[1, 0] = terminated[3, 1] = True
    raw = torch.randn(t, n, 3)
    stats = gail.update(
        Rollout(
            raw, raw, torch.zeros(t, n, 2), terminated, torch.zeros_like(terminated), raw[..., 0]
        )
    )
    logit = absorbing_logit(3 / 43, 2 / 10)  # 2 terminations in 8 steps
    r_abs = policy_reward(torch.tensor(logit), form).item()
    assert stats.absorbing_reward == pytest.approx(r_abs, rel=1e-5)
    gamma = gail.ppo.config.gamma
    assert passed["terminal_value"] == pytest.approx(r_abs / (1 - gamma), rel=1e-5)
    assert torch.equal(passed["terminated"], terminated)  # type: ignore[arg-type]
    assert absorbing_value(2.0, 0.99) == pytest.approx(200.0)


def test_without_absorbing_terminations_bootstrap_from_zero() -> None:
    gail = _gail(torch.randn(40, 3), torch.zeros(40, 2), expert_absorbing=3)
    passed: dict[str, object] = {}
    ppo_update = gail.ppo.update

    def spy(*args: torch.Tensor, **kwargs: float) -> PPOStats:
        passed.update(kwargs)
        return ppo_update(*args, **kwargs)  # type: ignore[return-value]

    gail.ppo.update = spy  # type: ignore[method-assign]
    terminated = torch.ones(2, 2, dtype=torch.bool)
    raw = torch.randn(2, 2, 3)
    stats = gail.update(
        Rollout(raw, raw, torch.zeros(2, 2, 2), terminated, ~terminated, raw[..., 0])
    )
    assert passed["terminal_value"] == 0.0 and stats.absorbing_reward is None
    assert "absorbing_reward" not in stats.train_scalars()
