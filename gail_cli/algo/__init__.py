"""The algorithm: networks, PPO and its gradient, GAIL's discriminator, cloning,
statistics. No Hydra, no files."""
