"""gail-eval video=true: a headless back-end is chosen by itself; the mp4 lands in the run dir."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import BIN

from gail_cli.cli import rendering
from gail_cli.data.checkpoint import save_checkpoint
from gail_cli.errors import GailError

REPO = Path(__file__).resolve().parents[1]
EXPERT = REPO / "data" / "experts" / "Hopper-v4.pt"


def _headless_env() -> dict[str, str]:
    """This environment as a headless server would have it: no display, no MUJOCO_GL."""
    drop = {"MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _falling_hopper(folder: Path) -> Path:
    """The shipped Hopper expert with full-scale actions: it falls within a few dozen steps.

    Software rendering of the expert's 1,000 steps takes minutes on a busy CPU.
    """
    payload = torch.load(EXPERT, map_location="cpu", weights_only=True)
    payload["agent"]["actor"]["mean_net.4.bias"] = torch.tensor([5.0, -5.0, 5.0])
    payload.pop("format_version")
    path = folder / "checkpoints" / "falling.pt"
    save_checkpoint(path, payload)
    return path


def test_video_without_mujoco_gl_or_display_goes_into_the_run_dir(tmp_path: Path) -> None:
    reasons = []
    for backend in rendering.HEADLESS_BACKENDS:
        reason = rendering.probe(backend)
        if reason is None:
            break
        reasons.append(f"{backend}: {reason}")
    else:
        pytest.skip(f"no headless OpenGL back-end renders on this machine ({'; '.join(reasons)})")
    checkpoint = _falling_hopper(tmp_path / "trained")
    run_dir = tmp_path / "eval"
    result = subprocess.run(
        [
            str(BIN / "gail-eval"),
            f"checkpoint={checkpoint}",
            "episodes=1",
            "video=true",
            f"hydra.run.dir={run_dir}",
        ],
        env=_headless_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (video,) = (run_dir / "videos").glob("eval_*.mp4")
    assert video.stat().st_size > 10_000 and f"video: {video}" in result.stdout
    assert sorted(p.name for p in (tmp_path / "trained").iterdir()) == ["checkpoints"]


def test_the_first_working_headless_backend_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    tried = []

    def fake_probe(backend: str) -> str | None:
        tried.append(backend)
        return "libEGL.so.1: cannot open shared object file" if backend == "egl" else None

    monkeypatch.setattr(rendering, "probe", fake_probe)
    assert rendering.choose_gl_backend() == "osmesa"
    assert tried == ["egl", "osmesa"] and os.environ["MUJOCO_GL"] == "osmesa"


def test_no_working_backend_is_one_line_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MUJOCO_GL", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(rendering, "probe", lambda backend: f"{backend} library missing")
    with pytest.raises(GailError) as refused:
        rendering.choose_gl_backend()
    message = str(refused.value)
    assert "egl: egl library missing; osmesa: osmesa library missing" in message
    assert "libosmesa6" in message and "\n" not in message
    assert "MUJOCO_GL" not in os.environ


def test_the_users_choice_and_a_display_are_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "probe", lambda backend: pytest.fail("no probe expected"))
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    assert rendering.choose_gl_backend() == "osmesa"
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setenv("DISPLAY", ":0")
    assert rendering.choose_gl_backend() == "glfw"
    assert "MUJOCO_GL" not in os.environ


def test_a_real_probe_reports_a_reason_for_an_unknown_backend() -> None:
    reason = rendering.probe("no-such-backend")
    assert reason is not None and reason  # MuJoCo refuses the value with a message
