"""Shared fixtures: a small synthetic expert file and a helper to run the console scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from gail_cli.data.experts import write_d4rl

# In-process tests run torch single-threaded, as gail-train does on CPU (threads=auto):
# with more threads, tiny networks on a loaded 2-core machine spend their time waiting.
torch.set_num_threads(1)

BIN = Path(sys.executable).parent
HALFCHEETAH_OBS, HALFCHEETAH_ACT = 17, 6

# A budget of a few thousand env steps: 2 envs, 512-step rollouts, 2 PPO epochs.
TINY = [
    "trainer.total_env_steps=2048",
    "trainer.num_envs=2",
    "trainer.steps_per_collect=512",
    "trainer.eval_episodes=2",
    "trainer.eval_every=1024",
    "ppo.repeat_per_collect=2",
    # HalfCheetah's and the other shipped envs' 10,000 cloning steps, cut to a few
    "trainer.bc_init_steps=20",
]


def make_expert_file(path: Path, episodes: int = 3, length: int = 100, seed: int = 0) -> Path:
    """A synthetic HalfCheetah-shaped D4RL file: random states, bounded actions."""
    rng = np.random.default_rng(seed)
    n = episodes * length
    timeouts = np.zeros(n, dtype=bool)
    timeouts[length - 1 :: length] = True
    write_d4rl(
        path,
        observations=rng.normal(size=(n, HALFCHEETAH_OBS)),
        actions=rng.uniform(-1, 1, size=(n, HALFCHEETAH_ACT)),
        rewards=rng.normal(1.0, 0.1, size=n),
        terminals=np.zeros(n, dtype=bool),
        timeouts=timeouts,
        attrs={"env_id": "HalfCheetah-v4"},
    )
    return path


@pytest.fixture(scope="session")
def expert_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_expert_file(tmp_path_factory.mktemp("data") / "HalfCheetah-v4.hdf5")


def run_captured(
    command: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, its output captured as text, whatever its exit code."""
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=False
    )


def run_cli(
    program: str, *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a console script of this environment and capture its output."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return run_captured([str(BIN / program), *args], env, cwd, timeout)


REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class InstalledWheel:
    """gail-cli built as a wheel and installed into a folder of its own."""

    wheel: Path  # the .whl file
    site: Path  # the folder it was installed into (pip install --target)

    def run(self, code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``python -c code`` in a fresh interpreter that imports gail_cli from
        ``site`` (before the editable install of this checkout), in ``cwd``."""
        env = {**os.environ, "PYTHONPATH": str(self.site), "HYDRA_FULL_ERROR": "1"}
        env.pop("GAIL_DATA_DIR", None)
        return run_captured([sys.executable, "-c", code], env, cwd, timeout)


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """Build the wheel once per session (no build isolation: no download) and install it
    without dependencies (they are this environment's) into a temporary folder."""
    folder = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = run_captured(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(folder / "dist"), str(REPO)]
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (folder / "dist").glob("gail_cli-*.whl")
    site = folder / "site"
    install = run_captured(
        [*pip, "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)]
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return InstalledWheel(wheel, site)


def one_error_line(result: subprocess.CompletedProcess[str], program: str) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{program}: error: ")
    return lines[0]
