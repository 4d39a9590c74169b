"""A user's own env module, as the tests use it: importing it registers MyPendulum-v0.

It is gymnasium's Pendulum under another id, with short episodes (50 steps) so that
end-to-end runs on it stay fast; ``g`` (gravity) is a keyword argument of gym.make.
"""

import gymnasium as gym

gym.register(
    id="MyPendulum-v0",
    entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv",
    max_episode_steps=50,
)
