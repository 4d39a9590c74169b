"""What both adversarial learners (GAIL with PPO, DAC) are built from: the observation
transform fitted to the demonstrations, the discriminator, and the expert tensors it is
trained on. One construction for both, so that a setting means the same in each."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gail_cli.algo.nets import Discriminator
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.data.experts import ExpertData
from gail_cli.errors import GailError
from gail_cli.settings import DiscriminatorConfig


def fit_normalizer(normalizer: ObservationNormalizer, expert: ExpertData | None) -> None:
    """Fit ``trainer.obs_normalization=expert`` to the demonstrations; refuse it without
    them (gail-expert), in one line."""
    if normalizer.mode != "expert":
        return
    if expert is None:
        raise GailError("trainer.obs_normalization=expert needs expert data; use running or off")
    normalizer.fit(expert.observations)


@dataclass(frozen=True)
class ExpertTensors:
    """The demonstrations as the learner reads them, on its device.

    observations (M, obs_dim) raw; actions (M, act_dim) as stored (bounded for Box
    spaces, one-hot for discrete ones); absorbing: kept episodes that ended in a
    termination; absorbing_weight: each one's weight against 1 per pair (1 / subsample).
    """

    observations: torch.Tensor
    actions: torch.Tensor
    absorbing: int
    absorbing_weight: float

    @classmethod
    def of(cls, expert: ExpertData, device: torch.device) -> ExpertTensors:
        return cls(
            torch.from_numpy(expert.observations).to(device),
            torch.from_numpy(expert.actions).to(device),
            int(expert.terminals.sum()),
            1.0 / (expert.subsample or 1),
        )


def build_discriminator(
    obs_dim: int, act_dim: int, config: DiscriminatorConfig, device: torch.device
) -> Discriminator:
    """The discriminator network of the ``discriminator`` group, on ``device``."""
    return Discriminator(
        obs_dim, act_dim, config.hidden_sizes, config.activation, config.spectral_norm
    ).to(device)
