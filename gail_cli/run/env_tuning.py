"""Per-env tuned settings apply only to the env they were tuned for.

``gail-train env.id=<id>`` keeps the env option (HalfCheetah-v4 unless ``env=`` says
otherwise), and Hydra composes that option's tuned file (``conf/env/gail/<env>.yaml``)
with it. When env.id is not the option's own env, :func:`drop_foreign_tuning` puts every
key that file set back to its config group's default, except keys the command line set,
and clears ``env_tuning``: another env gets the generic defaults.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from omegaconf import DictConfig, OmegaConf


def group_file(group: str, option: str) -> DictConfig:
    """The YAML of one config group option, ``conf/<group>/<option>.yaml``, as composed."""
    text = (resources.files("gail_cli.conf") / group / f"{option}.yaml").read_text()
    node = OmegaConf.create(text)
    assert isinstance(node, DictConfig)
    return node


def env_options() -> list[str]:
    """The env group's options (``HalfCheetah-v4``, ...): the files of conf/env/."""
    folder = resources.files("gail_cli.conf").joinpath("env")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def overridden_keys(overrides: list[str]) -> set[str]:
    """Dotted keys a list of Hydra command-line overrides sets ('+ppo.lr=1' -> 'ppo.lr')."""
    return {item.split("=", 1)[0].lstrip("+~") for item in overrides if "=" in item}


def drop_foreign_tuning(
    cfg: DictConfig, choices: dict[str, Any], overrides: list[str]
) -> list[str]:
    """Undo the env option's tuned settings when env.id names another env.

    ``choices`` are Hydra's group choices (hydra.runtime.choices), ``overrides`` the
    command line's (hydra.overrides.task). Returns the keys put back to their group
    defaults (empty when the tuning belongs to env.id, or none applied).
    """
    tuning = cfg.get("env_tuning")
    env_option = choices.get("env")
    if not tuning or not env_option:
        return []
    option_id = group_file("env", env_option).env.id
    if cfg.env.id == option_id:
        return []
    given = overridden_keys(overrides)
    reset = []
    for key in tuning.sets:
        if key in given:
            continue
        group, name = key.split(".", 1)
        OmegaConf.update(cfg, key, OmegaConf.select(group_file(group, choices[group]), name))
        reset.append(key)
    cfg.env_tuning = None
    return reset
