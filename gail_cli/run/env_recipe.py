"""How to make a run's environment: its id, gym.make's keyword arguments, its wrappers.

A recipe is the config's ``env`` node (``env.id``, ``env.kwargs``, ``env.wrappers``).
Checkpoints save the whole config, so gail-eval, gail-collect, gail-export and resume
make the same env from the checkpoint alone.

- ``env.id`` is a gymnasium id, or ``<module>:<EnvId>`` for a user's own env: the module
  is imported first (it registers the id), as ``gymnasium.make`` does.
- ``env.kwargs`` is passed to ``gym.make`` (``ctrl_cost_weight``, ``max_episode_steps``).
- ``env.wrappers`` lists wrapper classes by import path (``pkg.module.Class`` or
  ``pkg.module:Class``), applied in order; an item ``{path: ..., kwargs: {...}}`` gives
  the wrapper keyword arguments.

Each problem (a module that does not import, an id it does not register, a wrapper that
is not there) is one :class:`GailError` line naming which.
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
from omegaconf import DictConfig, OmegaConf

from gail_cli.errors import GailError, first_sentence


@dataclass(frozen=True)
class WrapperSpec:
    """One wrapper: its class's import path and the keyword arguments it is built with."""

    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvRecipe:
    """Everything gym.make needs to make the env again (see the module's docstring)."""

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    wrappers: tuple[WrapperSpec, ...] = ()

    @property
    def registered_id(self) -> str:
        """The id in gymnasium's registry: ``env.id`` without its ``<module>:`` prefix."""
        return self.id.rpartition(":")[2]

    @property
    def module(self) -> str | None:
        """The module that registers the env, for a ``<module>:<EnvId>`` id."""
        return self.id.rpartition(":")[0] or None

    def to_json(self) -> str:
        """The recipe as JSON (for the evaluation worker's command line)."""
        wrappers = [{"path": w.path, "kwargs": w.kwargs} for w in self.wrappers]
        return json.dumps({"id": self.id, "kwargs": self.kwargs, "wrappers": wrappers})

    @classmethod
    def from_json(cls, text: str) -> EnvRecipe:
        return recipe_from_mapping(json.loads(text))


def recipe_from_mapping(env: Mapping[str, Any]) -> EnvRecipe:
    """A recipe from a config's ``env`` node (a DictConfig or a plain dict).

    Missing kwargs / wrappers (checkpoints saved before they existed) mean none.
    """
    if isinstance(env, DictConfig):
        env = OmegaConf.to_container(env, resolve=True)  # type: ignore[assignment]
    env_id = env.get("id")
    if not isinstance(env_id, str) or not env_id:
        raise GailError(f"env.id={env_id!r} must be a gymnasium id or <module>:<EnvId>")
    kwargs = env.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise GailError(f"env.kwargs={kwargs!r} must be a mapping of gym.make arguments")
    items = env.get("wrappers") or []
    if not isinstance(items, list):
        raise GailError(f"env.wrappers={items!r} must be a list of wrapper import paths")
    return EnvRecipe(env_id, dict(kwargs), tuple(_wrapper_spec(item) for item in items))


def _wrapper_spec(item: Any) -> WrapperSpec:
    if isinstance(item, str) and item:
        return WrapperSpec(item)
    if isinstance(item, dict) and isinstance(item.get("path"), str):
        extra = set(item) - {"path", "kwargs"}
        kwargs = item.get("kwargs") or {}
        if not extra and isinstance(kwargs, dict):
            return WrapperSpec(item["path"], dict(kwargs))
    raise GailError(
        f"env.wrappers item {item!r} must be an import path (pkg.module.Wrapper) or "
        "{path: pkg.module.Wrapper, kwargs: {...}}"
    )


def as_recipe(env: EnvRecipe | str) -> EnvRecipe:
    """A recipe as it is, or a bare gymnasium id as the recipe of that id alone."""
    return env if isinstance(env, EnvRecipe) else EnvRecipe(env)


def register_env(recipe: EnvRecipe) -> None:
    """Import the recipe's module (it registers the env); refuse an unknown id."""
    if recipe.module is not None:
        try:
            importlib.import_module(recipe.module)
        except Exception as exc:  # a user's module can fail in any way while importing
            raise GailError(
                f"env.id={recipe.id}: the module {recipe.module!r} cannot be imported "
                f"({type(exc).__name__}: {first_sentence(exc)}); put its folder on "
                "PYTHONPATH or install its package"
            ) from exc
    if recipe.registered_id in gym.registry:
        return
    close = difflib.get_close_matches(recipe.registered_id, list(gym.registry), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    if recipe.module is not None:
        raise GailError(
            f"env.id={recipe.id}: the module {recipe.module!r} was imported but registers "
            f"no env {recipe.registered_id!r}; {hint}check its gymnasium.register(id=...) call"
        )
    raise GailError(
        f"env.id={recipe.id!r} is not a registered gymnasium id; {hint}use e.g. "
        "env=HalfCheetah-v4, or env.id=<module>:<EnvId> for your own env"
    )


def _import_class(path: str) -> type:
    """The class of an import path ``pkg.module.Class`` or ``pkg.module:Class``."""
    module_name, _, name = path.replace(":", ".").rpartition(".")
    try:
        module = importlib.import_module(module_name) if module_name else None
    except Exception as exc:  # a user's module can fail in any way while importing
        raise GailError(
            f"env.wrappers: {path}: its module cannot be imported "
            f"({type(exc).__name__}: {first_sentence(exc)})"
        ) from exc
    found = getattr(module, name, None)
    if not isinstance(found, type):
        raise GailError(
            f"env.wrappers: {path} is not a class; give its import path, e.g. "
            "gymnasium.wrappers.ClipReward"
        )
    return found


def wrapper_factories(recipe: EnvRecipe) -> list[Callable[[gym.Env], gym.Wrapper]]:
    """One function per wrapper of the recipe: env in, wrapped env out, in order."""
    factories = []
    for spec in recipe.wrappers:
        cls = _import_class(spec.path)
        factories.append(_factory(cls, spec))
    return factories


def _factory(cls: type, spec: WrapperSpec) -> Callable[[gym.Env], gym.Wrapper]:
    def wrap(env: gym.Env) -> gym.Wrapper:
        try:
            wrapped = cls(env, **spec.kwargs)
        except Exception as exc:  # a wrapper's constructor can refuse its arguments in any way
            raise GailError(
                f"env.wrappers: {spec.path}(**{spec.kwargs}) failed "
                f"({type(exc).__name__}: {first_sentence(exc)})"
            ) from exc
        if not isinstance(wrapped, gym.Wrapper):
            raise GailError(f"env.wrappers: {spec.path} is not a gymnasium.Wrapper subclass")
        return wrapped

    return wrap
