"""Discrete actions: the categorical actor, the choice of PPO gradient engine,
integer expert files, refused spaces and files, and PPO's diagnostics."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import gymnasium as gym
import h5py
import numpy as np
import pytest
import torch
from conftest import one_error_line, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gail_cli.algo.bc import behavior_clone
from gail_cli.algo.nets import CategoricalActor, Critic, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO, explained_variance, policy_change
from gail_cli.algo.ppo_loss import AutogradGradient, ManualGradient
from gail_cli.algo.records import Minibatch
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.data.experts import load_expert_data, write_d4rl
from gail_cli.errors import GailError
from gail_cli.run.envs import env_spec
from gail_cli.settings import PPOConfig

# CartPole budget: 2 envs, 256-step rollouts, 2 PPO epochs, 2-episode evaluations
TINY_CARTPOLE = [
    "env=CartPole-v1",
    "trainer.total_env_steps=1024",
    "trainer.num_envs=2",
    "trainer.steps_per_collect=256",
    "trainer.eval_episodes=2",
    "trainer.eval_every=512",
    "ppo.repeat_per_collect=2",
]


def _one_hot(index: torch.Tensor, n: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(index, n).float()


# --------------------------------------------------------------------------- actor


def test_categorical_actor_matches_torch_categorical() -> None:
    torch.manual_seed(0)
    actor = CategoricalActor(5, 3, [16])
    with torch.no_grad():  # spread the logits so the distribution is far from uniform
        actor.logits_net[-1].weight.mul_(300)
    obs = torch.randn(50, 5)
    reference = torch.distributions.Categorical(logits=actor.logits_net(obs))
    index = reference.sample()
    log_prob = actor.log_prob(obs, _one_hot(index, 3))
    assert torch.allclose(log_prob, reference.log_prob(index), atol=1e-6)
    assert actor.entropy(obs).item() == pytest.approx(reference.entropy().mean().item(), rel=1e-5)
    greedy = actor(obs)
    assert torch.equal(greedy.argmax(-1), reference.probs.argmax(-1))
    samples = actor.sample(obs)
    assert samples.shape == (50, 3) and torch.equal(samples.sum(-1), torch.ones(50))


def test_categorical_samples_follow_the_probabilities() -> None:
    torch.manual_seed(1)
    actor = CategoricalActor(2, 3, [8])
    with torch.no_grad():
        actor.logits_net[-1].bias.copy_(torch.tensor([0.0, 1.0, 2.0]))
    obs = torch.zeros(20000, 2)
    frequencies = actor.sample(obs).mean(0)
    expected = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), -1)
    assert torch.allclose(frequencies, expected, atol=0.015)


def test_behavioral_cloning_by_cross_entropy_learns_the_expert_actions() -> None:
    torch.manual_seed(2)
    actor = CategoricalActor(4, 2, [32, 32])
    obs = torch.randn(512, 4)
    expert = _one_hot((obs[:, 0] > 0).long(), 2)  # the expert pushes by the first feature
    before, after = behavior_clone(actor, ObservationNormalizer(4, "off"), obs, expert, 300)
    assert before == pytest.approx(np.log(2), abs=0.01)
    assert after < 0.15
    accuracy = (actor(obs).argmax(-1) == expert.argmax(-1)).float().mean()
    assert accuracy > 0.95


# --------------------------------------------------------------------------- PPO paths


def test_gradient_engine_is_chosen_by_the_setting_and_the_actor() -> None:
    cpu = torch.device("cpu")

    def engine(actor: GaussianActor | CategoricalActor, gradient: str) -> object:
        return PPO(actor, Critic(4, [8]), PPOConfig(gradient=gradient), cpu).gradient_engine

    assert isinstance(engine(GaussianActor(4, 2, [8]), "auto"), ManualGradient)
    assert isinstance(engine(GaussianActor(4, 2, [8]), "manual"), ManualGradient)
    assert isinstance(engine(GaussianActor(4, 2, [8]), "autograd"), AutogradGradient)
    assert isinstance(engine(CategoricalActor(4, 2, [8]), "auto"), AutogradGradient)
    with pytest.raises(GailError, match=r"ppo\.gradient=manual needs a Gaussian MLP actor"):
        engine(CategoricalActor(4, 2, [8]), "manual")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"advantage_normalization": True, "ent_coef": 0.05, "max_grad_norm": 0.1},
        {"dual_clip": 2.0, "eps_clip": 0.1, "value_clip": True},
    ],
)
def test_autograd_and_hand_derived_paths_make_the_same_update(options: dict[str, object]) -> None:
    """Both paths, from equal networks on equal minibatches: equal parameters after
    three optimizer steps, equal losses and equal log ratios."""
    torch.manual_seed(3)
    actor, critic = GaussianActor(5, 3, [16, 8], log_std_init=-0.4), Critic(5, [12])
    manual = PPOConfig(lr=1e-2, gradient="manual", **options)  # type: ignore[arg-type]
    autograd = dataclasses.replace(manual, gradient="autograd")
    cpu = torch.device("cpu")
    fast = PPO(actor, critic, manual, cpu)
    slow = PPO(copy.deepcopy(actor), copy.deepcopy(critic), autograd, cpu)
    assert isinstance(fast.gradient_engine, ManualGradient)
    assert isinstance(slow.gradient_engine, AutogradGradient)
    obs, actions = torch.randn(40, 5), torch.randn(40, 3)
    with torch.no_grad():
        old = actor.log_prob(obs, actions) + 0.6 * torch.randn(40)
        old_values = critic(obs) + 0.1 * torch.randn(40)
    batch = Minibatch(obs, actions, old, torch.randn(40), torch.randn(40), old_values)
    for _ in range(3):
        mine, theirs = fast._minibatch_step(batch), slow._minibatch_step(batch)
        for a, b in zip(mine, theirs, strict=True):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    assert torch.allclose(fast.flat, slow.flat, rtol=1e-5, atol=1e-6)


def test_categorical_ppo_raises_the_probability_of_advantaged_actions() -> None:
    torch.manual_seed(4)
    actor, critic = CategoricalActor(3, 2, [16]), Critic(3, [16])
    ppo = PPO(actor, critic, PPOConfig(lr=3e-3, gamma=0.0, lr_decay=False), torch.device("cpu"))
    obs = torch.randn(64, 2, 3)
    actions = _one_hot(torch.randint(0, 2, (64, 2)), 2)
    rewards = actions[..., 1]  # action 1 pays 1, action 0 pays nothing
    never = torch.zeros(64, 2, dtype=torch.bool)
    before = actor.logits_net(obs.flatten(0, 1)).softmax(-1)[:, 1].mean()
    stats = ppo.update(obs, obs, actions, rewards, never, never)
    after = actor.logits_net(obs.flatten(0, 1)).softmax(-1)[:, 1].mean()
    assert after > before + 0.05
    assert stats.approx_kl > 0
    assert 0 <= stats.clip_fraction <= 1
    assert stats.action_std is None and stats.entropy < np.log(2)
    assert "action_std" not in stats.train_scalars()


# --------------------------------------------------------------------------- diagnostics


def test_policy_change_figures() -> None:
    log_ratio = torch.log(torch.tensor([1.0, 1.1, 0.7, 1.5]))
    approx_kl, clip_fraction = policy_change(log_ratio, eps_clip=0.2)
    ratio = log_ratio.exp()
    assert approx_kl == pytest.approx(float(((ratio - 1) - log_ratio).mean()))
    assert clip_fraction == pytest.approx(0.5)  # 0.7 and 1.5 are outside
    assert policy_change(torch.zeros(8), 0.2) == (0.0, 0.0)


def test_explained_variance() -> None:
    targets = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(targets, targets) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), targets) == pytest.approx(0.0)
    assert explained_variance(targets, torch.ones(4)) is None


def test_gaussian_update_reports_the_action_std() -> None:
    torch.manual_seed(5)
    actor = GaussianActor(3, 2, [8], log_std_init=np.log(0.5))
    ppo = PPO(actor, Critic(3, [8]), PPOConfig(lr=1e-9), torch.device("cpu"))
    never = torch.zeros(32, 2, dtype=torch.bool)
    obs = torch.randn(32, 2, 3)
    stats = ppo.update(obs, obs, torch.randn(32, 2, 2), torch.randn(32, 2), never, never)
    assert stats.action_std == pytest.approx(0.5, rel=1e-4)
    assert stats.approx_kl == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- data


def _write(path: Path, actions: np.ndarray, n_obs: int = 4) -> Path:
    n = actions.shape[0]
    timeouts = np.zeros(n, dtype=bool)
    timeouts[-1] = True
    write_d4rl(
        path,
        observations=np.random.default_rng(0).normal(size=(n, n_obs)),
        actions=actions,
        rewards=np.ones(n),
        terminals=np.zeros(n, dtype=bool),
        timeouts=timeouts,
    )
    return path


def test_integer_actions_round_trip_as_one_hot(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.hdf5", np.array([0, 1, 1, 0, 1]))
    with h5py.File(path) as f:
        assert f["actions"].dtype == np.int64 and f["actions"].shape == (5,)
    data = load_expert_data(path, obs_dim=4, act_dim=2, discrete=True)
    assert np.array_equal(data.actions, np.eye(2, dtype=np.float32)[[0, 1, 1, 0, 1]])


def test_minari_file_with_integer_actions_reads_as_one_hot(tmp_path: Path) -> None:
    path = tmp_path / "minari.hdf5"
    with h5py.File(path, "w") as f:
        for i, acts in enumerate(([2, 0, 1], [1, 1])):
            group = f.create_group(f"episode_{i}")
            group["observations"] = np.zeros((len(acts) + 1, 4), np.float32)
            group["actions"] = np.array(acts, dtype=np.int64)
            group["rewards"] = np.ones(len(acts))
            group["terminations"] = np.zeros(len(acts), bool)
            group["truncations"] = np.zeros(len(acts), bool)
    data = load_expert_data(path, obs_dim=4, act_dim=3, discrete=True)
    assert data.actions.argmax(-1).tolist() == [2, 0, 1, 1, 1]
    assert data.num_episodes == 2


def test_float_actions_for_a_discrete_env_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.hdf5", np.zeros((5, 1)))
    with pytest.raises(GailError, match=r"float32 values \(continuous actions\).*integer action"):
        load_expert_data(path, obs_dim=4, act_dim=2, discrete=True, env_id="CartPole-v1")


def test_out_of_range_action_index_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "i.hdf5", np.array([0, 1, 2, 1]))
    with pytest.raises(GailError, match=r"action index 2 at row 2 is out of range.*0 to 1"):
        load_expert_data(path, obs_dim=4, act_dim=2, discrete=True, env_id="CartPole-v1")


# --------------------------------------------------------------------------- spaces


class _Spaces:
    """The two attributes env_spec reads of a vector env."""

    def __init__(self, obs: gym.Space, act: gym.Space) -> None:
        self.single_observation_space, self.single_action_space = obs, act


BOX4 = gym.spaces.Box(-1, 1, (4,))


@pytest.mark.parametrize(
    ("obs", "act", "message"),
    [
        (BOX4, gym.spaces.MultiDiscrete([2, 3]), "action space MultiDiscrete"),
        (BOX4, gym.spaces.MultiBinary(3), "action space MultiBinary"),
        (gym.spaces.Dict({"a": BOX4}), gym.spaces.Discrete(2), "observation space Dict"),
        (gym.spaces.Box(0, 255, (8, 8, 3), np.uint8), gym.spaces.Discrete(2), r"\(8, 8, 3\)"),
        (BOX4, gym.spaces.Discrete(3, start=1), "starts at 1"),
    ],
)
def test_unsupported_spaces_are_refused_with_one_line(
    obs: gym.Space, act: gym.Space, message: str
) -> None:
    with pytest.raises(GailError, match=message) as info:
        env_spec(_Spaces(obs, act), "Fake-v0")  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and "Box or Discrete" in str(info.value)


def test_discrete_spec_sends_indices_and_bounds_one_hot_rows() -> None:
    spec = env_spec(_Spaces(BOX4, gym.spaces.Discrete(3)), "Fake-v0")  # type: ignore[arg-type]
    assert spec.discrete and spec.act_dim == 3
    rows = np.eye(3, dtype=np.float32)[[2, 0]]
    assert spec.env_action(rows).tolist() == [2, 0]
    assert np.array_equal(np.clip(rows, spec.action_low, spec.action_high), rows)


# --------------------------------------------------------------------------- commands


def test_cartpole_expert_collect_train_eval_and_resume(tmp_path: Path) -> None:
    expert_dir = tmp_path / "expert"
    result = run_cli("gail-expert", *TINY_CARTPOLE, f"hydra.run.dir={expert_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    demo = tmp_path / "demo.hdf5"
    result = run_cli(
        "gail-collect",
        f"checkpoint={expert_dir}",
        "episodes=3",
        f"out={demo}",
        "next_observations=false",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with h5py.File(demo) as f:
        assert "next_observations" not in f
        assert f["actions"].dtype.kind == "i" and f["actions"].ndim == 1
        assert set(np.unique(f["actions"][()])) <= {0, 1}
    run_dir = tmp_path / "gail"
    args = [*TINY_CARTPOLE, f"dataset.path={demo}", "trainer.bc_init_steps=20"]
    result = run_cli("gail-train", *args, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "action cross-entropy" in result.stdout
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    diagnostics = {"approx_kl", "clip_fraction", "explained_variance", "entropy"}
    diagnostics |= {"disc_logit_expert", "disc_logit_policy"}
    assert {f"train/{name}" for name in diagnostics} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("train/approx_kl")] == [256, 512, 768, 1024]
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert checkpoint["discrete"] is True and checkpoint["act_dim"] == 2
    result = run_cli("gail-eval", f"checkpoint={run_dir}", "episodes=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("CartPole-v1: return ") and "random 23.7" in result.stdout
    result = run_cli(
        "gail-train", f"resume={run_dir}", "trainer.total_env_steps=1536", f"dataset.path={demo}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["env_steps"] == 1536


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.zeros((5, 1)), "continuous actions"),
        (np.array([0, 1, 5, 1, 0]), "action index 5 at row 2 is out of range"),
    ],
)
def test_train_refuses_an_expert_file_that_does_not_fit_the_actions(
    tmp_path: Path, actions: np.ndarray, message: str
) -> None:
    path = _write(tmp_path / "bad.hdf5", actions)
    run_dir = tmp_path / "run"
    result = run_cli(
        "gail-train", *TINY_CARTPOLE, f"dataset.path={path}", f"hydra.run.dir={run_dir}"
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gail-train: error: expert file ")
    assert message in lines[0]
    assert not (run_dir / "checkpoints").exists()


def test_manual_gradient_on_a_discrete_env_is_one_error_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        "gail-train", *TINY_CARTPOLE, "ppo.gradient=manual", f"hydra.run.dir={run_dir}"
    )
    line = one_error_line(result, "gail-train")
    assert "ppo.gradient=manual needs a Gaussian MLP actor" in line
    assert "ppo.gradient=auto" in line
    assert not (run_dir / "checkpoints").exists()
