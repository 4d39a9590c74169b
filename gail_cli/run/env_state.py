"""The state of a vector env's episodes in progress, for a checkpoint to carry.

A resumed run continues exactly where its checkpoint was written only if every env is
in the same state: the simulator (MuJoCo's integration state: positions, velocities,
actuator and warm-start values, time; a classic-control env's ``state`` and counters),
the env's own random generator (reset noise), and the wrappers' counters (the time limit's
elapsed steps). This module reads and writes those for the envs of a synchronous vector
env whose simulator it knows, MuJoCo and gymnasium's classic control; for any other env
(Box2D, a user's env) or an asynchronous vector env, :func:`capture` returns None and a
resumed run starts fresh episodes, as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

# plain values of an env's attributes (its simulator state and counters)
_PLAIN = (np.ndarray, np.generic, int, float, bool, str, tuple, type(None))
# wrapper attributes that count steps or guard the order of calls
_WRAPPER_COUNTERS = ("_elapsed_steps", "_has_reset")


def to_saved(value: Any) -> Any:
    """A value as a checkpoint loaded with ``weights_only`` accepts it: numpy arrays and
    scalars become tensors (uint32 as int64), tuples, lists and dicts are converted inside."""
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        return torch.from_numpy(array.astype(np.int64) if array.dtype == np.uint32 else array)
    return _inside_containers(value, to_saved)


def from_saved(value: Any) -> Any:
    """The inverse of :func:`to_saved`: tensors become numpy arrays (0-d: numpy scalars)."""
    if isinstance(value, torch.Tensor):
        array = value.numpy().copy()
        return array[()] if array.ndim == 0 else array
    return _inside_containers(value, from_saved)


def _inside_containers(value: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert`` applied to each item of a tuple, list or dict (keys kept); any other
    value as it is."""
    if isinstance(value, tuple):
        return tuple(convert(v) for v in value)
    if isinstance(value, list):
        return [convert(v) for v in value]
    if isinstance(value, dict):
        return {k: convert(v) for k, v in value.items()}
    return value


def _mujoco_state(env: gym.Env) -> np.ndarray | None:
    unwrapped = env.unwrapped
    model, data = getattr(unwrapped, "model", None), getattr(unwrapped, "data", None)
    if model is None or data is None or type(data).__module__ != "mujoco._structs":
        return None
    import mujoco

    kind = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(model, kind), dtype=np.float64)
    mujoco.mj_getState(model, data, state, kind)
    return state


def _is_classic_control(env: gym.Env) -> bool:
    return type(env.unwrapped).__module__.startswith("gymnasium.envs.classic_control")


def _wrappers(env: gym.Env) -> list[gym.Wrapper]:
    chain: list[gym.Wrapper] = []
    while isinstance(env, gym.Wrapper):
        chain.append(env)
        env = env.env
    return chain


def capture_env(env: gym.Env) -> dict[str, Any] | None:
    """One env's state (copies), or None when its simulator is not one this module knows."""
    simulator = _mujoco_state(env)
    if simulator is None and not _is_classic_control(env):
        return None
    unwrapped = env.unwrapped
    attributes = {
        key: copy.deepcopy(value)
        for key, value in vars(unwrapped).items()
        if isinstance(value, _PLAIN) and key not in ("render_mode", "_np_random_seed")
    }
    state = {
        "simulator": simulator,
        "attributes": attributes,
        "np_random": copy.deepcopy(unwrapped.np_random.bit_generator.state),
        "wrappers": [
            {key: getattr(w, key) for key in _WRAPPER_COUNTERS if hasattr(w, key)}
            for w in _wrappers(env)
        ],
    }
    return to_saved(state)


def restore_env(env: gym.Env, state: dict[str, Any]) -> None:
    """Put ``env`` back into a state :func:`capture_env` took (of the same env id)."""
    unwrapped, state = env.unwrapped, from_saved(state)
    if state["simulator"] is not None:
        import mujoco

        simulator = np.asarray(state["simulator"], dtype=np.float64)
        kind = mujoco.mjtState.mjSTATE_INTEGRATION
        model, data = getattr(unwrapped, "model"), getattr(unwrapped, "data")  # noqa: B009
        mujoco.mj_setState(model, data, simulator, kind)
    for key, value in state["attributes"].items():
        setattr(unwrapped, key, copy.deepcopy(value))
    unwrapped.np_random.bit_generator.state = copy.deepcopy(state["np_random"])
    for wrapper, counters in zip(_wrappers(env), state["wrappers"], strict=True):
        for key, value in counters.items():
            setattr(wrapper, key, value)


def capture(envs: gym.vector.VectorEnv) -> list[dict[str, Any]] | None:
    """Every env's state of a synchronous vector env, or None where one cannot be taken."""
    sub_envs = getattr(envs, "envs", None)
    if not isinstance(envs, gym.vector.SyncVectorEnv) or sub_envs is None:
        return None
    states = [capture_env(env) for env in sub_envs]
    return None if any(s is None for s in states) else states  # type: ignore[return-value]


def restore(envs: gym.vector.VectorEnv, states: list[dict[str, Any]]) -> None:
    """Put every env of a synchronous vector env back into the states :func:`capture` took."""
    assert isinstance(envs, gym.vector.SyncVectorEnv) and len(states) == envs.num_envs
    for env, state in zip(envs.envs, states, strict=True):
        restore_env(env, state)
