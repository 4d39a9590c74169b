"""Mean return of uniformly random actions: 100 episodes per env, seeds 0-99.

The figures are the ``env.random_return`` of conf/env/<env>.yaml, which normalized
returns start from: ``python benchmarks/random_returns.py``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

ENVS = ("CartPole-v1", "Acrobot-v1", "LunarLander-v3")


def random_return(env_id: str, episodes: int = 100) -> tuple[float, float]:
    """Mean and std of the episode return of env.action_space.sample() actions."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    returns = []
    for seed in range(episodes):
        env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


if __name__ == "__main__":
    for env_id in ENVS:
        mean, std = random_return(env_id)
        print(f"{env_id} {mean:.1f} +- {std:.1f}")
