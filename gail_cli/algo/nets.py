"""The networks: actor (Gaussian or categorical head), MLP critic, MLP discriminator.

All take normalized observations of shape (B, obs_dim), float32. The two actors share
one interface, the only place where continuous and discrete actions differ: a policy
action is a float row (B, act_dim), for the Gaussian an unbounded sample, for the
categorical a one-hot row over its act_dim choices.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}


def mlp(
    in_dim: int,
    hidden_sizes: Sequence[int],
    out_dim: int,
    activation: str = "tanh",
    out_gain: float = 1.0,
) -> nn.Sequential:
    """An MLP with orthogonal init (gain sqrt(2) hidden, ``out_gain`` last), zero biases."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    sizes = [in_dim, *hidden_sizes]
    for a, b in itertools.pairwise(sizes):
        layers += [_init(nn.Linear(a, b), np.sqrt(2)), ACTIVATIONS[activation]()]
    layers.append(_init(nn.Linear(sizes[-1], out_dim), out_gain))
    return nn.Sequential(*layers)


def _init(layer: nn.Linear, gain: float) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class GaussianActor(nn.Module):
    """Diagonal Gaussian policy with a state-independent log std.

    Actions are sampled unbounded; the environment (and the discriminator) receive them
    clipped to the action bounds, while PPO's log-probabilities use the unbounded sample.
    """

    CLONE_LOSS_NAME = "action MSE"

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "tanh",
        log_std_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.mean_net = mlp(obs_dim, hidden_sizes, act_dim, activation, out_gain=0.01)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def sample(self, obs: torch.Tensor) -> torch.Tensor:
        """Unbounded action samples (B, act_dim) for obs (B, obs_dim)."""
        mean = self.mean_net(obs)
        return mean + self.log_std.exp() * torch.randn_like(mean)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Summed log-probability (B,) of unbounded actions (B, act_dim).

        Written out rather than through torch.distributions: the update calls it once
        per minibatch, where the distribution object's overhead is a large share.
        """
        z = (actions - self.mean_net(obs)) * torch.exp(-self.log_std)
        return (-0.5 * z.pow(2) - self.log_std - HALF_LOG_2PI).sum(-1)

    def entropy(self, obs: torch.Tensor | None = None) -> torch.Tensor:
        """Entropy (0-d) of the Gaussian, the same for every state: sum(log_std + ½log 2πe).

        ``obs`` is accepted for the actors' common interface and not needed.
        """
        return (self.log_std + 0.5 + HALF_LOG_2PI).sum()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Mean action (B, act_dim), unbounded."""
        return self.mean_net(obs)

    def clone_net(self) -> nn.Module:
        """What behavioral cloning fits: the mean network (the log std stays as set)."""
        return self.mean_net

    def clone_loss(self, obs: torch.Tensor, expert_actions: torch.Tensor) -> torch.Tensor:
        """Mean squared error (0-d) of the mean action to expert actions (B, act_dim)."""
        return (self.mean_net(obs) - expert_actions).pow(2).mean()

    def action_std(self) -> float | None:
        """The mean of the per-dimension action std, in action units (for the log)."""
        return float(self.log_std.detach().exp().mean())


class CategoricalActor(nn.Module):
    """Categorical policy over ``act_dim`` discrete actions; MLP logits.

    Actions are one-hot rows (B, act_dim) float32: the discriminator reads them as they
    are, and the environment receives their argmax index.
    """

    CLONE_LOSS_NAME = "action cross-entropy"

    def __init__(
        self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int], activation: str = "tanh"
    ) -> None:
        super().__init__()
        self.logits_net = mlp(obs_dim, hidden_sizes, act_dim, activation, out_gain=0.01)

    def sample(self, obs: torch.Tensor) -> torch.Tensor:
        """One-hot action samples (B, act_dim) for obs (B, obs_dim)."""
        logits = self.logits_net(obs)
        index = torch.multinomial(logits.softmax(-1), 1).squeeze(-1)
        return nn.functional.one_hot(index, logits.shape[-1]).to(logits.dtype)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Log-probability (B,) of one-hot actions (B, act_dim)."""
        return (self.logits_net(obs).log_softmax(-1) * actions).sum(-1)

    def entropy(self, obs: torch.Tensor | None = None) -> torch.Tensor:
        """Mean entropy (0-d, nats) of the action distribution over the states obs (B, ·)."""
        if obs is None:
            raise ValueError("a categorical policy's entropy depends on the state: pass obs")
        log_p = self.logits_net(obs).log_softmax(-1)
        return -(log_p.exp() * log_p).sum(-1).mean()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The most probable action (B, act_dim), one-hot (the greedy policy)."""
        logits = self.logits_net(obs)
        return nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)

    def clone_net(self) -> nn.Module:
        """What behavioral cloning fits: the whole logits network."""
        return self.logits_net

    def clone_loss(self, obs: torch.Tensor, expert_actions: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (0-d) of the policy to one-hot expert actions (B, act_dim)."""
        return -self.log_prob(obs, expert_actions).mean()

    def action_std(self) -> float | None:
        """None: a categorical policy has no action std (the update reports its entropy)."""
        return None


Actor = GaussianActor | CategoricalActor


class Critic(nn.Module):
    """State value V(s): (B, obs_dim) -> (B,)."""

    def __init__(self, obs_dim: int, hidden_sizes: Sequence[int], activation: str = "tanh") -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden_sizes, 1, activation, out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class Discriminator(nn.Module):
    """d(s, a): concatenated [obs, act] (B, obs_dim + act_dim) -> unbounded logit (B,).

    Positive logits mean "expert". The last layer is linear with no activation.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "tanh",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.net = mlp(obs_dim + act_dim, hidden_sizes, 1, activation, out_gain=1.0)
        if spectral_norm:
            for i, layer in enumerate(self.net):
                if isinstance(layer, nn.Linear):
                    self.net[i] = nn.utils.parametrizations.spectral_norm(layer)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, act], dim=-1)).squeeze(-1)
