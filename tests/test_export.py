"""gail-export: TorchScript and ONNX policies act as gail-eval does and keep the return."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from conftest import one_error_line, run_cli

from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.cli.export import policy_spec
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.run.build import load_policy
from gail_cli.run.envs import make_vector_env, play_episodes

EXPERT = Path(__file__).resolve().parents[1] / "data" / "experts" / "Hopper-v4.pt"
EPISODES = 2


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped Hopper expert exported by the command to both formats."""
    folder = tmp_path_factory.mktemp("exported")
    files = {}
    for suffix in (".pt", ".onnx"):
        out = folder / f"hopper{suffix}"
        result = run_cli("gail-export", f"checkpoint={EXPERT}", f"out={out}")
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"wrote {out}" in result.stdout and "(B, 11) float32 -> actions (B, 3)" in (
            result.stdout
        )
        assert not list(folder.glob(".*.tmp"))  # written through a temporary file
        files[suffix] = out
    return files


def _runners(files: dict[str, Path]) -> dict[str, object]:
    """Each exported file as a function: float32 observations (B, 11) -> actions (B, 3)."""
    scripted = torch.jit.load(str(files[".pt"]))
    session = onnxruntime.InferenceSession(str(files[".onnx"]))
    name = session.get_inputs()[0].name

    def run_torchscript(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return scripted(torch.from_numpy(obs)).numpy()

    def run_onnx(obs: np.ndarray) -> np.ndarray:
        return session.run(None, {name: obs})[0]

    return {"torchscript": run_torchscript, "onnx": run_onnx}


def _gail_eval_episodes(record: bool) -> tuple[object, object]:
    """gail-eval's own roll-out of the shipped expert (deterministic, seed 0)."""
    policy = load_policy(load_checkpoint(EXPERT), torch.device("cpu"))
    spec = policy_spec(policy.env_id)
    envs = make_vector_env(policy.env_id, EPISODES)
    try:
        episodes = play_episodes(
            envs, policy.actor, policy.normalizer, spec, torch.device("cpu"), 0, True, record
        )
    finally:
        envs.close()
    return spec, episodes


def test_exported_actions_match_gail_evals_actions(exported: dict[str, Path]) -> None:
    _, episodes = _gail_eval_episodes(record=True)
    assert episodes.transitions is not None
    obs = episodes.transitions["observations"].astype(np.float32)
    expected = episodes.transitions["actions"]
    assert obs.shape[0] > 100 and np.abs(expected).max() > 0.5  # a real, moving policy
    assert (np.abs(expected) == 1.0).any()  # some actions were clipped to the bounds
    for name, run in _runners(exported).items():
        actions = run(obs)
        assert actions.shape == expected.shape and actions.dtype == np.float32, name
        np.testing.assert_allclose(actions, expected, atol=1e-5, err_msg=name)
        one = run(obs[:1])  # any batch size, one observation too
        np.testing.assert_allclose(one, expected[:1], atol=1e-5, err_msg=name)


class _AsActor:
    """An exported runner in the place of the actor of gail-eval's roll-out."""

    def __init__(self, run) -> None:  # type: ignore[no-untyped-def]
        self.run = run

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run(obs.numpy()))


def test_exported_expert_keeps_its_return_in_the_env(exported: dict[str, Path]) -> None:
    result = run_cli("gail-eval", f"checkpoint={EXPERT}", f"episodes={EPISODES}")
    assert result.returncode == 0, result.stderr[-3000:]
    # "Hopper-v4: return 3452.6 +- 1.1 over 3 episodes; ..."
    eval_return = float(result.stdout.split("return ")[1].split()[0])
    assert eval_return > 3000  # the shipped expert
    spec, _ = _gail_eval_episodes(record=False)
    identity = ObservationNormalizer(spec.obs_dim, "off")
    for name, run in _runners(exported).items():
        envs = make_vector_env(spec.env_id, EPISODES)
        try:
            episodes = play_episodes(
                envs,
                _AsActor(run),
                identity,
                spec,
                torch.device("cpu"),
                0,  # type: ignore[arg-type]
            )
        finally:
            envs.close()
        assert episodes.returns.mean() == pytest.approx(eval_return, rel=0.01), name


def test_bad_out_or_checkpoint_is_one_line(tmp_path: Path, exported: dict[str, Path]) -> None:
    cases = [
        ([f"checkpoint={EXPERT}", f"out={tmp_path / 'policy.zip'}"], "end it in .pt"),
        ([f"checkpoint={EXPERT}", f"out={tmp_path / 'policy'}"], "(no suffix)"),
        ([f"checkpoint={tmp_path / 'missing.pt'}", f"out={tmp_path / 'p.pt'}"], "no such file"),
        ([f"checkpoint={tmp_path}", f"out={tmp_path / 'p.onnx'}"], "checkpoints/last.pt"),
        ([f"checkpoint={EXPERT}", f"out={exported['.pt']}"], "overwrite=true"),
    ]
    before = exported[".pt"].read_bytes()
    for args, expected in cases:
        line = one_error_line(run_cli("gail-export", *args), "gail-export")
        assert expected in line, (args, line)
    assert exported[".pt"].read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_shipped_cartpole_expert_exports_its_greedy_action_indices(tmp_path: Path) -> None:
    """A categorical policy exports as argmax indices, the actions gail-eval sends."""
    checkpoint = Path(__file__).resolve().parents[1] / "data" / "experts" / "CartPole-v1.pt"
    out = tmp_path / "cartpole.pt"
    result = run_cli("gail-export", f"checkpoint={checkpoint}", f"out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    policy = load_policy(load_checkpoint(checkpoint), torch.device("cpu"))
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=(64, 4)), dtype=torch.float32)
    with torch.no_grad():
        expected = policy.actor(policy.normalizer(obs)).argmax(-1)
    actions = torch.jit.load(str(out))(obs)
    assert actions.dtype == torch.int64 and torch.equal(actions, expected)
    assert len(set(expected.tolist())) == 2  # both actions occur: the check can fail
