"""A Hydra sweeper over Optuna 4's ask-and-tell interface, with pruning.

Hydra finds it in the ``hydra_plugins`` namespace: ``hydra/sweeper=optuna_ask_tell`` (the
search presets of ``conf/hparams_search/`` select it). Its keys are those of Hydra's own
Optuna sweeper (``params``, ``n_trials``, ``n_jobs``, ``storage``, ``study_name``,
``direction``, ``sampler``, ``max_failure_rate``) plus ``pruner``.
"""
