"""One run: settings to objects (the one reader of the config tree), envs, the loop,
evaluation, logging, resume."""
