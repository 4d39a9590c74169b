"""Files: expert demonstrations (D4RL and Minari layouts), checkpoints, atomic writes."""
