"""Vector environment construction, rollout collection and deterministic evaluation."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import torch
from gymnasium.vector import AutoresetMode

from gail_cli.algo.nets import Actor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.records import Rollout
from gail_cli.algo.sac import SquashedGaussianActor
from gail_cli.errors import GailError, first_sentence
from gail_cli.run import env_state
from gail_cli.run.env_recipe import EnvRecipe, as_recipe, register_env, wrapper_factories
from gail_cli.settings import VECTOR_MODES
from gail_cli.timing import PhaseTimer


@dataclass(frozen=True)
class EnvSpec:
    """What the learner needs to know of an environment's spaces.

    act_dim is the width of a policy action row: the Box's dimension, or for a Discrete
    space its number of choices (actions travel one-hot). action_low / action_high
    (act_dim,) float32 bound the rows the discriminator sees: the Box bounds, or 0 and 1
    for one-hot rows (so clipping leaves them unchanged).
    """

    env_id: str
    obs_dim: int
    act_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    discrete: bool = False

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """Policy actions (..., act_dim) as the env takes them: clipped to the Box bounds,
        or the index (...,) int64 of each one-hot row for a Discrete space."""
        if self.discrete:
            return actions.argmax(-1)
        return np.clip(actions, self.action_low, self.action_high)


def make_vector_env(
    env: EnvRecipe | str, num_envs: int, mode: str = "sync"
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of the env (a recipe or a bare gymnasium id) that reset in the
    same step an episode ends.

    The true final observation of an ended episode is in ``info["final_obs"]``.
    """
    if mode not in VECTOR_MODES:
        raise GailError(f"trainer.vector_mode={mode!r} is unknown; use one of {VECTOR_MODES}")
    recipe = as_recipe(env)
    register_env(recipe)
    wrappers = wrapper_factories(recipe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            envs = gym.make_vec(
                recipe.id,
                num_envs=num_envs,
                vectorization_mode=mode,
                vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
                wrappers=wrappers,
                **recipe.kwargs,
            )
        except GailError:
            raise
        except TypeError as exc:  # most often a keyword the env does not take
            raise GailError(
                f"env.id={recipe.id} could not be made with env.kwargs={recipe.kwargs} "
                f"({first_sentence(exc)}); check the names of env.kwargs"
            ) from exc
        except Exception as exc:  # MuJoCo/OpenGL set-up fails with many exception types
            raise GailError(
                f"env.id={recipe.id!r} could not be made "
                f"({type(exc).__name__}: {first_sentence(exc)}); "
                "check the MuJoCo install and MUJOCO_GL (egl or osmesa, or unset)"
            ) from exc
    require_same_step_autoreset(envs)
    return envs


def require_same_step_autoreset(envs: gym.vector.VectorEnv) -> None:
    """Refuse a vector env that does not reset in the step an episode ends.

    The rollout layout depends on it: row t+1 then holds the successor of row t within an
    episode (PPO reuses its V(s) as V(s') there), and an episode's final observation
    comes in ``info["final_obs"]``. With NEXT_STEP autoreset, the row after an episode's
    end would be a reset step with no action taken.
    """
    mode = envs.metadata.get("autoreset_mode")
    if mode != AutoresetMode.SAME_STEP:
        raise ValueError(
            f"the vector env's autoreset mode is {mode}; rollouts need AutoresetMode.SAME_STEP"
        )


SUPPORTED_SPACES = "a flat Box observation space and a Box or Discrete action space"


def env_spec(envs: gym.vector.VectorEnv, env_id: str) -> EnvSpec:
    """Read the single-env spaces: flat Box observations; Box or Discrete actions.

    Anything else (images, Dict / Tuple, MultiDiscrete, MultiBinary, a Discrete space
    not starting at 0) is refused with one line naming the space.
    """
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    where = f"env.id={env_id}"
    if not isinstance(obs_space, gym.spaces.Box):
        raise GailError(
            f"{where}: its observation space {obs_space} is not supported; "
            f"gail-cli needs {SUPPORTED_SPACES}"
        )
    if len(obs_space.shape) != 1:
        raise GailError(
            f"{where}: its observations have shape {obs_space.shape} (images or arrays); "
            f"gail-cli needs {SUPPORTED_SPACES} (flatten them with a wrapper)"
        )
    obs_dim = int(obs_space.shape[0])
    if isinstance(act_space, gym.spaces.Discrete):
        if int(act_space.start) != 0:
            raise GailError(
                f"{where}: its action space {act_space} starts at {act_space.start}; "
                f"gail-cli needs {SUPPORTED_SPACES} starting at 0"
            )
        n = int(act_space.n)
        return EnvSpec(
            env_id, obs_dim, n, np.zeros(n, np.float32), np.ones(n, np.float32), discrete=True
        )
    if not isinstance(act_space, gym.spaces.Box) or len(act_space.shape) != 1:
        raise GailError(
            f"{where}: its action space {act_space} is not supported; "
            f"gail-cli needs {SUPPORTED_SPACES}"
        )
    return EnvSpec(
        env_id=env_id,
        obs_dim=obs_dim,
        act_dim=int(act_space.shape[0]),
        action_low=act_space.low.astype(np.float32),
        action_high=act_space.high.astype(np.float32),
    )


class Collector:
    """Steps a vector env with the stochastic policy and records rollouts.

    Episode returns of the environment's reward are accumulated per env; finished ones
    wait in ``finished_returns`` until the trainer drains them for logging.
    """

    def __init__(
        self,
        envs: gym.vector.VectorEnv,
        spec: EnvSpec,
        actor: Actor,
        normalizer: ObservationNormalizer,
        device: torch.device,
        seed: int,
    ) -> None:
        require_same_step_autoreset(envs)
        self.envs, self.spec, self.actor = envs, spec, actor
        self.normalizer, self.device = normalizer, device
        self.obs, _ = envs.reset(seed=seed)
        self.running_returns = np.zeros(envs.num_envs)
        self.running_lengths = np.zeros(envs.num_envs, dtype=np.int64)
        self.finished_returns: list[float] = []
        self.finished_lengths: list[int] = []
        # wall seconds spent in policy inference and in env.step, cumulative
        self.timer = PhaseTimer()
        self.seconds = self.timer.seconds

    def collect(self, steps_per_env: int) -> Rollout:
        """Run ``steps_per_env`` vector steps; tensors of shape (T=steps_per_env, N, ...)."""
        n, obs_dim, act_dim = self.envs.num_envs, self.spec.obs_dim, self.spec.act_dim
        obs = np.empty((steps_per_env, n, obs_dim), dtype=np.float32)
        next_obs = np.empty_like(obs)
        actions = np.empty((steps_per_env, n, act_dim), dtype=np.float32)
        rewards = np.empty((steps_per_env, n), dtype=np.float32)
        terminated = np.empty((steps_per_env, n), dtype=bool)
        truncated = np.empty((steps_per_env, n), dtype=bool)
        for t in range(steps_per_env):
            obs[t] = self.obs
            with self.timer("policy"), torch.inference_mode():
                state = self.normalizer(torch.from_numpy(obs[t]).to(self.device))
                actions[t] = self.actor.sample(state).cpu().numpy()
            with self.timer("env_step"):
                step_obs, rewards[t], terminated[t], truncated[t], info = self.envs.step(
                    self.spec.env_action(actions[t])
                )
            next_obs[t] = step_obs
            done = terminated[t] | truncated[t]
            if done.any():
                for i in np.flatnonzero(done):
                    next_obs[t, i] = info["final_obs"][i]
            self._track_episodes(rewards[t], done)
            self.obs = step_obs
        as_tensor = lambda x: torch.from_numpy(x).to(self.device)  # noqa: E731
        return Rollout(
            obs=as_tensor(obs),
            next_obs=as_tensor(next_obs),
            actions=as_tensor(actions),
            terminated=as_tensor(terminated),
            truncated=as_tensor(truncated),
            env_rewards=as_tensor(rewards),
        )

    def _track_episodes(self, rewards: np.ndarray, done: np.ndarray) -> None:
        self.running_returns += rewards
        self.running_lengths += 1
        for i in np.flatnonzero(done):
            self.finished_returns.append(float(self.running_returns[i]))
            self.finished_lengths.append(int(self.running_lengths[i]))
        self.running_returns[done] = 0.0
        self.running_lengths[done] = 0

    def state_dict(self) -> dict[str, Any] | None:
        """The episodes in progress: every env's state, the current observations (N,
        obs_dim) and running returns and lengths (N,); None where the envs' state cannot
        be taken (see :mod:`gail_cli.run.env_state`)."""
        envs = env_state.capture(self.envs)
        if envs is None:
            return None
        return env_state.to_saved(
            {
                "envs": envs,
                "obs": self.obs.copy(),
                "running_returns": self.running_returns.copy(),
                "running_lengths": self.running_lengths.copy(),
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the episodes of a :meth:`state_dict`, taken of the same env id and count."""
        env_state.restore(self.envs, state["envs"])
        self.obs = env_state.from_saved(state["obs"])
        self.running_returns = env_state.from_saved(state["running_returns"])
        self.running_lengths = env_state.from_saved(state["running_lengths"])

    def drain_episodes(self) -> tuple[list[float], list[int]]:
        """Returns and lengths of the episodes finished since the last drain."""
        out = (self.finished_returns, self.finished_lengths)
        self.finished_returns, self.finished_lengths = [], []
        return out


@dataclass
class Episodes:
    """Whole episodes played by a policy, one per env of the vector.

    returns, lengths: (E,). transitions (when recorded): D4RL-layout arrays with the
    episodes laid end to end: observations (M, obs_dim), actions as the env received
    them ((M, act_dim) float for a Box, (M,) int64 indices for a Discrete space),
    rewards (M,), terminals (M,), timeouts (M,), next_observations.
    """

    returns: np.ndarray
    lengths: np.ndarray
    transitions: dict[str, np.ndarray] | None = None


def play_episodes(
    envs: gym.vector.VectorEnv,
    actor: Actor | SquashedGaussianActor,
    normalizer: ObservationNormalizer,
    spec: EnvSpec,
    device: torch.device,
    seed: int,
    deterministic: bool = True,
    record: bool = False,
) -> Episodes:
    """Play one episode in each env (mean actions when deterministic) on the true reward."""
    obs, _ = envs.reset(seed=seed)
    n = envs.num_envs
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    finished = np.zeros(n, dtype=bool)
    steps: list[tuple[np.ndarray, ...]] = []
    while not finished.all():
        with torch.inference_mode():
            state = normalizer(torch.as_tensor(obs, dtype=torch.float32, device=device))
            action = actor(state) if deterministic else actor.sample(state)
        env_action = spec.env_action(action.cpu().numpy())
        next_obs, reward, terminated, truncated, info = envs.step(env_action)
        alive = ~finished
        returns += np.where(alive, reward, 0.0)
        lengths += alive
        done = terminated | truncated
        if record:
            final = next_obs.copy()
            for i in np.flatnonzero(done):
                final[i] = info["final_obs"][i]
            steps.append((obs, env_action, reward, terminated, truncated, final, alive))
        finished |= done
        obs = next_obs
    transitions = _episode_arrays(steps) if record else None
    return Episodes(returns, lengths, transitions)


def _episode_arrays(steps: list[tuple[np.ndarray, ...]]) -> dict[str, np.ndarray]:
    """Stack per-step (N, ...) records into env-major, episode-contiguous arrays."""
    names = ("observations", "actions", "rewards", "terminals", "timeouts", "next_observations")
    stacked = [np.stack(column, axis=1) for column in zip(*steps, strict=True)]  # (N, T, ...)
    alive = stacked[-1]
    out = {name: array[alive] for name, array in zip(names, stacked[:-1], strict=False)}
    out["terminals"] = out["terminals"].astype(bool)
    out["timeouts"] = out["timeouts"].astype(bool)
    return out


def record_video(
    env: EnvRecipe | str,
    actor: Actor | SquashedGaussianActor,
    normalizer: ObservationNormalizer,
    spec: EnvSpec,
    device: torch.device,
    seed: int,
    path: Path,
) -> int:
    """Render one deterministic episode to an mp4 at ``path`` (atomic); returns frames.

    Needs headless MuJoCo rendering: MUJOCO_GL=egl (or osmesa) and its system libraries.
    """
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise GailError("video=true needs imageio: pip install 'gail-cli[video]'") from None
    recipe = as_recipe(env)
    env_id = recipe.id
    single: gym.Env | None = None
    try:
        single = make_single_env(recipe, render_mode="rgb_array")
        if "track" in _camera_names(single):  # MuJoCo locomotion: follow the body
            single.close()
            single = make_single_env(recipe, render_mode="rgb_array", camera_name="track")
        obs, _ = single.reset(seed=seed)
        frames: list[npt.ArrayLike] = [_rgb_frame(single)]
        done = False
        while not done:
            with torch.inference_mode():
                state = normalizer(torch.as_tensor(obs, dtype=torch.float32, device=device))
                action = actor(state[None])[0].cpu().numpy()
            obs, _, terminated, truncated, _ = single.step(spec.env_action(action))
            frames.append(_rgb_frame(single))
            done = terminated or truncated
    except GailError:
        raise
    except Exception as exc:  # rendering back-ends fail in many ways without a GPU/EGL
        raise GailError(
            f"video: rendering {env_id} failed ({first_sentence(exc)}); "
            "set MUJOCO_GL=egl or MUJOCO_GL=osmesa and install libegl1 or libosmesa6"
        ) from exc
    finally:
        if single is not None:
            single.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    fps = int(single.metadata.get("render_fps", 30))
    imageio.mimsave(tmp, frames, fps=fps, macro_block_size=1)
    os.replace(tmp, path)
    return len(frames)


def _rgb_frame(env: gym.Env) -> np.ndarray:
    """The env's current frame (H, W, 3) uint8 (render_mode="rgb_array")."""
    frame = env.render()
    assert isinstance(frame, np.ndarray), f"render() returned {type(frame).__name__}"
    return frame


def make_single_env(recipe: EnvRecipe, **extra: Any) -> gym.Env:
    """One env of the recipe, wrapped; ``extra`` adds gym.make arguments (render_mode)."""
    register_env(recipe)
    wrappers = wrapper_factories(recipe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        env = gym.make(recipe.id, **{**recipe.kwargs, **extra})
    for wrap in wrappers:
        env = wrap(env)
    return env


def _camera_names(env: gym.Env) -> list[str]:
    """Names of a MuJoCo env's cameras (empty for other envs)."""
    model = getattr(env.unwrapped, "model", None)
    if model is None:
        return []
    import mujoco

    return [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i) for i in range(model.ncam)]
