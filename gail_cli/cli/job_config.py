"""``gail-train --cfg job``: the config a run would use, per-env settings shown with values.

Hydra's own print lists ``env_tuning.sets`` by key name only, before the run puts the
tuning of another env back to the defaults, and still lists a key the command line
overrode. This print applies the same step the run applies
(:func:`gail_cli.run.env_tuning.drop_foreign_tuning`) and lists each per-env key with its
value, leaving out the keys the command line set.
"""

from __future__ import annotations

import json
from typing import Any

from hydra import compose, initialize_config_module
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from gail_cli.cli.command_line import CONFIG_MODULE, CommandLine
from gail_cli.run.env_tuning import drop_foreign_tuning, overridden_keys


def wants_job_config(line: CommandLine) -> bool:
    """Whether the command line asks for ``--cfg job`` (and nothing Hydra alone prints)."""
    options = line.options
    asked = any(
        o in ("--cfg", "-c") and options[i + 1 : i + 2] == ["job"] for i, o in enumerate(options)
    )
    return asked and not any(o in ("--package", "-p") for o in options)


def _shown(value: Any) -> str:
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    return value if isinstance(value, str) else json.dumps(value)


def job_config_text(config_name: str, line: CommandLine) -> str:
    """The job's config as YAML, ``env_tuning.sets`` as ``key=value`` lines."""
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=line.overrides, return_hydra_config=True)
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    drop_foreign_tuning(cfg, choices, line.overrides)
    tuning = cfg.get("env_tuning")
    if tuning:
        given = overridden_keys(line.overrides)
        tuning.sets = [
            f"{key}={_shown(OmegaConf.select(cfg, key))}" for key in tuning.sets if key not in given
        ]
    return OmegaConf.to_yaml(cfg, resolve="--resolve" in line.options)
