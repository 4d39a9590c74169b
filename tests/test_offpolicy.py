"""The off-policy learner (algorithm=dac / sac): replay buffer, SAC, DAC's absorbing
states, the config group, and end-to-end runs on tiny budgets."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from conftest import one_error_line, run_cli
from hydra import compose, initialize_config_module

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.algo.dac import DAC
from gail_cli.algo.nets import Discriminator
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.replay import ReplayBuffer, Transitions
from gail_cli.algo.sac import SAC, SACConfig, SquashedGaussianActor, TwinQ
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.run.build import read_settings
from gail_cli.run.env_state import capture, restore
from gail_cli.run.envs import make_vector_env
from gail_cli.settings import DiscriminatorConfig

CONF = Path(__file__).resolve().parents[1] / "conf"


def transitions(first: int, rows: int, obs_dim: int = 2, act_dim: int = 1) -> Transitions:
    """Rows numbered first, first + 1, ...: obs filled with the number; every third
    row (by number) terminated."""
    numbers = torch.arange(first, first + rows, dtype=torch.float32)
    return Transitions(
        obs=numbers[:, None].expand(rows, obs_dim).clone(),
        actions=torch.zeros(rows, act_dim),
        env_rewards=numbers.clone(),
        next_obs=numbers[:, None].expand(rows, obs_dim) + 0.5,
        terminated=(numbers % 3 == 0),
    )


# -- replay buffer -------------------------------------------------------------------


def test_replay_buffer_wraps_around_keeping_the_newest_rows() -> None:
    buffer = ReplayBuffer(capacity=5, obs_dim=2, act_dim=1)
    buffer.add(transitions(0, 3))
    buffer.add(transitions(3, 4))  # rows 0..6: 5 and 6 overwrite slots 0 and 1
    assert len(buffer) == 5 and buffer.position == 2
    assert buffer.env_rewards.tolist()[:5] == [5.0, 6.0, 2.0, 3.0, 4.0]
    assert buffer.terminations == 2  # rows 3 and 6 (0 was overwritten)
    assert buffer.absorbing_fraction() == pytest.approx(2 / 7)
    one_add = ReplayBuffer(capacity=5, obs_dim=2, act_dim=1)
    one_add.add(transitions(0, 7))  # more rows than fit: the newest 5 are kept
    assert sorted(one_add.env_rewards.tolist()[:5]) == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert one_add.terminations == 2


def test_replay_buffer_samples_only_filled_rows_and_grows_its_storage() -> None:
    buffer = ReplayBuffer(capacity=200_000, obs_dim=2, act_dim=1)
    buffer.add(transitions(0, 10))
    batch = buffer.sample(1000)
    assert batch.obs.shape == (1000, 2) and batch.terminated.dtype == torch.bool
    assert set(batch.env_rewards.tolist()) == set(map(float, range(10)))
    assert torch.equal(batch.next_obs, batch.obs + 0.5)  # columns stay aligned
    allocated = buffer.obs.shape[0]
    buffer.add(transitions(10, allocated))  # past the first allocation: it grows
    assert len(buffer) == allocated + 10 and buffer.obs.shape[0] > allocated
    assert buffer.env_rewards[: len(buffer)].tolist() == list(map(float, range(allocated + 10)))


def test_replay_buffer_state_round_trip_restores_rows_and_counters() -> None:
    buffer = ReplayBuffer(capacity=5, obs_dim=2, act_dim=1)
    buffer.add(transitions(0, 3))
    buffer.add(transitions(3, 4))
    copy = ReplayBuffer(capacity=5, obs_dim=2, act_dim=1)
    copy.load_state_dict(buffer.state_dict())
    assert (copy.position, copy.size, copy.terminations) == (2, 5, buffer.terminations)
    torch.manual_seed(3)
    first = buffer.sample(8)
    torch.manual_seed(3)
    second = copy.sample(8)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


# -- SAC -----------------------------------------------------------------------------


def test_squashed_actor_stays_in_bounds_and_its_log_prob_is_the_tanh_gaussians() -> None:
    torch.manual_seed(0)
    low, high = np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)
    actor = SquashedGaussianActor(3, 2, [16], "relu", low, high)
    obs = torch.randn(64, 3) * 5
    actions, log_prob = actor.sample_with_log_prob(obs)
    assert actions.shape == (64, 2) and log_prob.shape == (64,)
    assert (actions >= torch.from_numpy(low)).all() and (actions <= torch.from_numpy(high)).all()
    deterministic = actor(obs)
    assert deterministic.shape == (64, 2)
    assert (deterministic >= torch.from_numpy(low)).all()
    # the same sample's density under torch's own tanh-transformed Gaussian
    torch.manual_seed(1)
    _, log_prob = actor.sample_with_log_prob(obs)
    torch.manual_seed(1)
    mean, log_std = actor._mean_log_std(obs)
    pre_tanh = mean + log_std.exp() * torch.randn_like(mean)
    reference = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(mean, log_std.exp()), [torch.distributions.TanhTransform()]
    )
    squashed = torch.tanh(pre_tanh).clamp(-1 + 1e-6, 1 - 1e-6)
    expected = reference.log_prob(squashed).sum(-1)
    close = squashed.abs().amax(-1) < 0.999  # away from where atanh loses precision
    torch.testing.assert_close(log_prob[close], expected[close], atol=1e-3, rtol=1e-4)


def make_sac(obs_dim: int = 3, act_dim: int = 2, **overrides: object) -> SAC:
    config = dataclasses.replace(SACConfig(), **overrides)  # type: ignore[arg-type]
    actor = SquashedGaussianActor(obs_dim, act_dim, [32, 32])
    return SAC(actor, TwinQ(obs_dim, act_dim, [32, 32]), config, act_dim)


def test_td_target_takes_a_terminated_steps_successor_value_from_the_terminal_value() -> None:
    torch.manual_seed(0)
    sac = make_sac(gamma=0.9)
    rewards, next_obs = torch.tensor([1.0, 1.0, -2.0]), torch.randn(3, 3)
    terminated = torch.tensor([True, False, True])
    torch.manual_seed(1)
    target = sac.td_target(rewards, next_obs, terminated, terminal_value=-50.0)
    assert target[0].item() == pytest.approx(1.0 + 0.9 * -50.0)
    assert target[2].item() == pytest.approx(-2.0 + 0.9 * -50.0)
    torch.manual_seed(1)  # the same next actions
    zero = sac.td_target(rewards, next_obs, terminated, terminal_value=0.0)
    assert zero[0].item() == pytest.approx(1.0) and zero[1].item() == pytest.approx(
        target[1].item()
    )
    assert target[1].item() != pytest.approx(1.0)  # the critics' soft value, not 0


def test_sac_learns_a_one_dimensional_task() -> None:
    """A contextual bandit: reward -(a - s/2)², γ = 0; the deterministic action must
    move from the initial ~0 to s/2."""
    torch.manual_seed(0)
    sac = make_sac(obs_dim=1, act_dim=1, gamma=0.0, lr=3e-3, init_alpha=0.01)
    obs = torch.rand(4096, 1) * 2 - 1
    target = obs[:, 0] / 2
    with torch.no_grad():
        error_before = float((sac.actor(obs)[:, 0] - target).abs().mean())
    for _ in range(400):
        index = torch.randint(0, 4096, (128,))
        s = obs[index]
        with torch.no_grad():
            a = sac.actor.sample(s)
        r = -(a[:, 0] - target[index]).pow(2)
        sac.update(s, a, r, s, torch.ones(128, dtype=torch.bool))
    with torch.no_grad():
        error_after = float((sac.actor(obs)[:, 0] - target).abs().mean())
    assert error_before > 0.2 and error_after < 0.05, (error_before, error_after)


# -- DAC -----------------------------------------------------------------------------


def make_dac(expert_absorbing: int, weight: float, **config: object) -> DAC:
    sac = make_sac(obs_dim=2, act_dim=1, batch_size=16)
    disc_config = DiscriminatorConfig(reward_form="airl", absorbing=True, **config)  # type: ignore[arg-type]
    return DAC(
        sac,
        Discriminator(2, 1, [16]),
        disc_config,
        ObservationNormalizer(2, "off"),
        expert_obs=torch.randn(200, 2),
        expert_actions=torch.rand(200, 1) * 2 - 1,
        expert_absorbing=expert_absorbing,
        absorbing_weight=weight,
    )


def test_dac_absorbing_reward_is_the_log_ratio_of_both_sides_absorbing_shares() -> None:
    dac = make_dac(expert_absorbing=4, weight=1 / 20)  # 4 falls, subsampled by 20
    expert_share = 0.2 / 200.2
    buffer = ReplayBuffer(100, 2, 1)
    buffer.add(transitions(0, 30))  # rows 0, 3, ..., 27 terminated: 10 of 30
    policy_share = 10 / 40
    assert dac.absorbing_reward(buffer) == pytest.approx(math.log(expert_share / policy_share))
    stats = dac.update(buffer)
    assert stats["absorbing_reward"].item() == pytest.approx(dac.absorbing_reward(buffer))
    # a policy that falls as often (per pair) as the expert: the absorbing logit is 0
    same = ReplayBuffer(1000, 2, 1)
    same.add(Transitions(*transitions(1, 1000)[:4], torch.zeros(1000, dtype=torch.bool)))
    same.add(Transitions(*transitions(0, 1)[:4], torch.ones(1, dtype=torch.bool)))
    dac_same = make_dac(expert_absorbing=1, weight=1.0)
    dac_same.expert_absorbing_fraction = same.absorbing_fraction()
    assert dac_same.absorbing_reward(same) == pytest.approx(0.0, abs=1e-9)


def test_dac_update_reports_the_known_tags_and_steps_the_discriminator_every_n() -> None:
    torch.manual_seed(0)
    dac = make_dac(expert_absorbing=0, weight=1.0)
    dac.sac.config.disc_every = 2
    buffer = ReplayBuffer(100, 2, 1)
    buffer.add(transitions(0, 50))
    before = [p.detach().clone() for p in dac.disc.parameters()]
    first, second = dac.update(buffer), dac.update(buffer)
    tags = {"critic_loss", "actor_loss", "alpha", "entropy", "q_values", "disc_reward"}
    disc_tags = {"disc_loss", "acc_pi", "acc_exp", "disc_logit_expert", "disc_logit_policy"}
    assert tags | disc_tags <= set(first) and not disc_tags & set(second)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in first.values())
    moved = any(not torch.equal(a, b) for a, b in zip(before, dac.disc.parameters(), strict=True))
    assert moved


# -- config and env state --------------------------------------------------------------


def test_the_dac_group_file_states_the_sacconfig_defaults() -> None:
    values = yaml.safe_load((CONF / "algorithm" / "dac.yaml").read_text())["algorithm"]
    assert values == dataclasses.asdict(SACConfig())


def _compose(name: str, overrides: list[str]) -> object:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        return compose(name, overrides=overrides)


def test_ppo_stays_the_default_and_algorithm_dac_reads_its_settings() -> None:
    default = _compose("train", ["env=Hopper-v4"])
    assert read_settings(default, imitation=True).algorithm is None  # type: ignore[arg-type]
    cfg = _compose("train", ["env=Hopper-v4", "algorithm=dac", "algorithm.batch_size=64"])
    settings = read_settings(cfg, imitation=True)  # type: ignore[arg-type]
    assert settings.algorithm == dataclasses.replace(SACConfig(), batch_size=64)
    assert settings.trainer.bc_init_steps == 0 and settings.trainer.eval_every == 10_000
    # the env's tuned settings stay where dac sets nothing
    assert settings.trainer.obs_normalization == "expert"
    expert = _compose("expert", ["env=Hopper-v4", "algorithm=sac"])
    assert read_settings(expert, imitation=False).algorithm.name == "sac"  # type: ignore[arg-type, union-attr]


@pytest.mark.parametrize("env_id", ["Hopper-v4", "Pendulum-v1"])
def test_a_vector_envs_state_restores_its_episodes_exactly(env_id: str) -> None:
    envs = make_vector_env(env_id, 2)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (40, *envs.action_space.shape))
    for a in actions[:10]:
        envs.step(a.astype(np.float32))
    state = capture(envs)
    assert state is not None
    first = [envs.step(a.astype(np.float32))[0] for a in actions[10:]]
    other = make_vector_env(env_id, 2)
    other.reset(seed=123)
    restore(other, state)
    second = [other.step(a.astype(np.float32))[0] for a in actions[10:]]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    envs.close()
    other.close()


# -- end to end ----------------------------------------------------------------------

TINY_DAC = [
    "algorithm=dac",
    "algorithm.learning_starts=100",
    "algorithm.batch_size=32",
    "policy.hidden_sizes=[32,32]",
    "critic.hidden_sizes=[32,32]",
    "trainer.num_envs=2",
    "trainer.steps_per_collect=100",
    "trainer.eval_every=200",
    "trainer.eval_episodes=1",
]


def test_discrete_actions_and_sac_in_gail_train_are_refused_in_one_line(tmp_path: Path) -> None:
    line = one_error_line(
        run_cli("gail-train", "algorithm=dac", "env=CartPole-v1", f"hydra.run.dir={tmp_path}/a"),
        "gail-train",
    )
    assert "discrete actions" in line and "algorithm=ppo" in line
    line = one_error_line(
        run_cli("gail-train", "algorithm=sac", f"hydra.run.dir={tmp_path}/b"), "gail-train"
    )
    assert "algorithm=dac" in line and "gail-expert" in line


def test_a_dac_run_resumes_exactly_and_its_checkpoint_evaluates_and_exports(
    tmp_path: Path, expert_file: Path
) -> None:
    common = [*TINY_DAC, f"dataset.path={expert_file}"]
    whole = run_cli(
        "gail-train", *common, "trainer.total_env_steps=400", f"hydra.run.dir={tmp_path}/whole"
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    half = run_cli(
        "gail-train", *common, "trainer.total_env_steps=200", f"hydra.run.dir={tmp_path}/half"
    )
    assert half.returncode == 0, half.stderr[-2000:]
    resumed = run_cli("gail-train", f"resume={tmp_path}/half", "trainer.total_env_steps=400")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = [
        json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("whole", "half")
    ]
    assert metrics[0]["env_steps"] == metrics[1]["env_steps"] == 400
    assert metrics[0]["eval/return"] == metrics[1]["eval/return"]
    ends = [load_checkpoint(tmp_path / run) for run in ("whole", "half")]
    for name in ("actor", "critic", "discriminator"):
        for key, value in ends[0]["agent"][name].items():
            assert torch.equal(value, ends[1]["agent"][name][key]), f"{name}.{key}"
    assert ends[0]["agent"]["replay"]["size"] == 400
    evaluated = run_cli(
        "gail-eval", f"checkpoint={tmp_path}/whole", "episodes=1", f"hydra.run.dir={tmp_path}/eval"
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "HalfCheetah-v4: return" in evaluated.stdout and "normalized" in evaluated.stdout
    out = tmp_path / "policy.pt"
    exported = run_cli("gail-export", f"checkpoint={tmp_path}/whole", f"out={out}")
    assert exported.returncode == 0, exported.stderr[-2000:]
    module = torch.jit.load(str(out))
    env = gym.make("HalfCheetah-v4")
    obs, _ = env.reset(seed=0)
    action = module(torch.as_tensor(obs, dtype=torch.float32)[None])
    assert action.shape == (1, 6) and action.abs().max() <= 1.0
    env.close()
