"""The learner's whole state in one object: networks, transform, optimizers.

An :class:`Agent` is what a checkpoint saves and restores; the trainer drives it, and
gail-eval / gail-collect rebuild its actor and observation transform alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from gail_cli.algo.nets import Actor, Critic, Discriminator
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.ppo import PPO
from gail_cli.algo.records import Rollout
from gail_cli.algo.stats import UpdateStats


def parameters_finite(modules: Iterable[torch.nn.Module]) -> bool:
    """True when every parameter of every module is finite (one host sync)."""
    flags = [torch.isfinite(p).all() for m in modules for p in m.parameters()]
    return bool(torch.stack(flags).all())


class Stateful(Protocol):
    """A part of an agent that a checkpoint saves and restores."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any) -> Any: ...


class CheckpointedAgent:
    """What an agent's checkpoint is made of: its networks (``actor``, ``critic`` and,
    for imitation, ``discriminator``) by name, then the other parts :meth:`parts` names.
    Subclasses are dataclasses holding those attributes."""

    actor: torch.nn.Module
    critic: torch.nn.Module
    discriminator: torch.nn.Module | None

    def modules(self) -> dict[str, torch.nn.Module]:
        nets: dict[str, torch.nn.Module] = {"actor": self.actor, "critic": self.critic}
        if self.discriminator is not None:
            nets["discriminator"] = self.discriminator
        return nets

    def parts(self) -> dict[str, Stateful]:
        """The stateful parts beside the networks, by their checkpoint key."""
        raise NotImplementedError

    def parameters_finite(self) -> bool:
        return parameters_finite(self.modules().values())

    def state_dict(self) -> dict[str, Any]:
        everything: dict[str, Stateful] = {**self.modules(), **self.parts()}
        return {name: part.state_dict() for name, part in everything.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        everything: dict[str, Stateful] = {**self.modules(), **self.parts()}
        for name, part in everything.items():
            part.load_state_dict(state[name])


class Learner(Protocol):
    """GAIL or plain PPO: turns one rollout into parameter updates and statistics."""

    def update(self, rollout: Rollout) -> UpdateStats: ...

    def set_lr_fraction(self, fraction: float) -> None:
        """Learning rates at ``fraction`` of their configured values, where decay is on."""

    def set_critic_warmup(self, active: bool) -> None:
        """While active, updates train the critic alone and leave the actor as it is."""

    def state_dict(self) -> dict[str, object]: ...

    def load_state_dict(self, state: dict[str, object]) -> None: ...


@dataclass
class Agent(CheckpointedAgent):
    """PPO's agent (GAIL or gail-expert): the checkpoint's keys are the networks',
    ``normalizer``, ``ppo`` and ``learner``."""

    actor: Actor
    critic: Critic
    normalizer: ObservationNormalizer
    ppo: PPO
    learner: Learner
    discriminator: Discriminator | None = None

    def parts(self) -> dict[str, Stateful]:
        return {"normalizer": self.normalizer, "ppo": self.ppo, "learner": self.learner}
