"""Choosing MuJoCo's OpenGL back-end for video on a machine without a display.

MuJoCo and gymnasium read ``MUJOCO_GL`` when they first load a rendering back-end; unset,
they try GLFW, which needs a display and fails on a headless server. When the user has
not chosen (``MUJOCO_GL`` unset) and there is no display, :func:`choose_gl_backend`
tries EGL, then OSMesa, each in a short child process (a back-end that fails to load
cannot be unloaded from this one), and sets ``MUJOCO_GL`` to the first that renders,
before this process loads any of them.
"""

from __future__ import annotations

import os
import subprocess
import sys

from gail_cli.errors import GailError

HEADLESS_BACKENDS = ("egl", "osmesa")
PROBE_TIMEOUT_S = 60.0
# create, use and free a tiny off-screen context with the back-end of MUJOCO_GL
_PROBE = "import mujoco; c = mujoco.GLContext(16, 16); c.make_current(); c.free()"


def probe(backend: str) -> str | None:
    """None when MuJoCo renders with ``backend`` here, else the reason it does not."""
    env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer in {PROBE_TIMEOUT_S:.0f} s"
    if result.returncode == 0:
        return None
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def has_display() -> bool:
    """True when an X11 or Wayland display is there for GLFW."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def choose_gl_backend() -> str:
    """The back-end video will use, setting MUJOCO_GL to a headless one where needed.

    The user's MUJOCO_GL is kept as it is; with a display, MuJoCo's default (GLFW) is
    used. Raises GailError when neither EGL nor OSMesa works on a headless machine.
    """
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        return chosen
    if has_display():
        return "glfw"
    reasons = []
    for backend in HEADLESS_BACKENDS:
        reason = probe(backend)
        if reason is None:
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
        reasons.append(f"{backend}: {reason}")
    raise GailError(
        "video=true: no display and no headless OpenGL back-end works here "
        f"({'; '.join(reasons)}); install EGL (libegl1, with a GPU driver) or OSMesa "
        "(libosmesa6), or set MUJOCO_GL to one that works"
    )
