"""The state of a running vector env, saved and restored so that a resume continues the
episodes in progress exactly where the checkpoint left them.

Covered: sync vector envs whose sub-envs are MuJoCo envs (the physics' whole integration
state through ``mujoco.mj_getState``) or keep their state in a ``state`` array (classic
control), each with its time limit's step count and its random generator. Other envs
(async vectors, other simulators) give no snapshot, and a resume starts fresh episodes.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def _time_limit(env: gym.Env) -> gym.wrappers.TimeLimit | None:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = env.env
    return None


def _physics_state(env: gym.Env) -> np.ndarray | None:
    """A MuJoCo env's full integration state (1-D float64), or its ``state`` array."""
    base = env.unwrapped
    model, data = getattr(base, "model", None), getattr(base, "data", None)
    if model is not None and data is not None:
        import mujoco

        kind = mujoco.mjtState.mjSTATE_INTEGRATION
        state = np.empty(mujoco.mj_stateSize(model, kind))
        mujoco.mj_getState(model, data, state, kind)
        return state
    state = getattr(base, "state", None)
    return None if state is None else np.array(state, dtype=np.float64)


def _set_physics_state(env: gym.Env, state: np.ndarray) -> None:
    base = env.unwrapped
    model, data = getattr(base, "model", None), getattr(base, "data", None)
    if model is not None and data is not None:
        import mujoco

        mujoco.mj_setState(model, data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(model, data)
    else:
        base.state = state.astype(np.asarray(base.state).dtype)


def vector_env_state(envs: gym.vector.VectorEnv) -> list[dict[str, Any]] | None:
    """Per sub-env: physics state, time-limit step count, generator state; None when
    the vector's kind or an env's state is not covered (module docstring)."""
    sub_envs = getattr(envs, "envs", None)
    if sub_envs is None:
        return None
    states = []
    for env in sub_envs:
        physics = _physics_state(env)
        if physics is None:
            return None
        limit = _time_limit(env)
        states.append(
            {
                "physics": physics.tolist(),
                "elapsed_steps": None if limit is None else limit._elapsed_steps,
                "np_random": env.unwrapped.np_random.bit_generator.state,
            }
        )
    return states


def restore_vector_env_state(envs: gym.vector.VectorEnv, states: list[dict[str, Any]]) -> None:
    """Put each sub-env of a vector already reset back into its saved state."""
    for env, state in zip(envs.envs, states, strict=True):  # type: ignore[attr-defined]
        _set_physics_state(env, np.asarray(state["physics"], dtype=np.float64))
        limit = _time_limit(env)
        if limit is not None:
            limit._elapsed_steps = state["elapsed_steps"]
        env.unwrapped.np_random.bit_generator.state = state["np_random"]
