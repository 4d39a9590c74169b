"""The deterministic policy as a standalone module: TorchScript (.pt) or ONNX (.onnx).

The exported module maps a batch of raw float32 observations (B, obs_dim), as the env
returns them, to the env actions gail-eval would take: the checkpoint's observation
normalization, the actor's deterministic action, and the clip to the action bounds are
all inside. Nothing of gail-cli is needed to run it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from gail_cli.algo.nets import CategoricalActor, GaussianActor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.algo.sac import SquashedGaussianActor
from gail_cli.data.atomic import atomic_path
from gail_cli.data.checkpoint import load_checkpoint, resolve_checkpoint
from gail_cli.errors import GailError, first_sentence, refuse_to_replace
from gail_cli.run.build import LoadedPolicy, load_policy
from gail_cli.run.env_recipe import EnvRecipe, as_recipe
from gail_cli.run.envs import EnvSpec, env_spec, make_vector_env

FORMATS = {".pt": "TorchScript", ".onnx": "ONNX"}
OBS_NAME, ACTION_NAME = "observations", "actions"


class FrozenNormalizer(nn.Module):
    """The checkpoint's observation transform with its statistics as constant buffers.

    (B, obs_dim) float32 -> (B, obs_dim) float32, the same arithmetic as
    :class:`ObservationNormalizer`: clip((obs - mean) * inv_std, -clip, clip), or the
    identity when normalization was off.
    """

    def __init__(self, normalizer: ObservationNormalizer) -> None:
        super().__init__()
        self.enabled = normalizer.enabled
        self.clip = float(normalizer.clip)
        mean, inv_std = normalizer.frozen_statistics()
        self.register_buffer("mean", mean)
        self.register_buffer("inv_std", inv_std)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return obs
        mean, inv_std = self.mean, self.inv_std  # (obs_dim,) buffers
        assert isinstance(mean, torch.Tensor) and isinstance(inv_std, torch.Tensor)
        return torch.clamp((obs - mean) * inv_std, -self.clip, self.clip)


class ClippedMean(nn.Module):
    """A Gaussian actor's mean action clipped to the env's bounds: (B, obs) -> (B, act)."""

    def __init__(self, actor: GaussianActor, low: np.ndarray, high: np.ndarray) -> None:
        super().__init__()
        self.mean_net = actor.mean_net
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        low, high = self.low, self.high  # (act_dim,) buffers
        assert isinstance(low, torch.Tensor) and isinstance(high, torch.Tensor)
        return torch.clamp(self.mean_net(state), low, high)


def deterministic_action(actor: nn.Module, spec: EnvSpec) -> nn.Module:
    """The one seam between an actor type and export: normalized obs -> env action.

    A Gaussian actor acts with its mean, clipped to the action bounds (what gail-eval
    sends to the env); a categorical actor with the index of its most probable action;
    an off-policy (SAC) actor with its squashed mean.
    """
    if isinstance(actor, GaussianActor):
        return ClippedMean(actor, spec.action_low, spec.action_high)
    if isinstance(actor, CategoricalActor):
        return GreedyIndex(actor)
    if isinstance(actor, SquashedGaussianActor):
        return SquashedMean(actor)
    raise GailError(f"export: no deterministic action is defined for {type(actor).__name__}")


class SquashedMean(nn.Module):
    """An off-policy (SAC) actor's squashed mean on the env's bounds: (B, obs) -> (B, act)."""

    def __init__(self, actor: SquashedGaussianActor) -> None:
        super().__init__()
        self.net = actor.net
        self.act_dim = actor.act_dim
        center, scale = actor.action_center, actor.action_scale
        assert isinstance(center, torch.Tensor) and isinstance(scale, torch.Tensor)
        self.register_buffer("center", center.clone())
        self.register_buffer("scale", scale.clone())

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        center, scale = self.center, self.scale
        assert isinstance(center, torch.Tensor) and isinstance(scale, torch.Tensor)
        mean = self.net(state).narrow(-1, 0, self.act_dim)
        return center + scale * torch.tanh(mean)


class GreedyIndex(nn.Module):
    """A categorical actor's most probable action index: (B, obs) -> (B,) int64, the
    action a Discrete env receives."""

    def __init__(self, actor: CategoricalActor) -> None:
        super().__init__()
        self.logits_net = actor.logits_net

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.logits_net(state).argmax(-1)


class ExportedPolicy(nn.Module):
    """Raw observations (B, obs_dim) float32 -> env actions, normalization inside."""

    def __init__(self, normalizer: nn.Module, act: nn.Module) -> None:
        super().__init__()
        self.normalizer = normalizer
        self.act = act

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.act(self.normalizer(observations))


def exported_policy(policy: LoadedPolicy, spec: EnvSpec) -> ExportedPolicy:
    """The policy of a checkpoint as one CPU module in eval mode, without gradients."""
    module = ExportedPolicy(
        FrozenNormalizer(policy.normalizer), deterministic_action(policy.actor, spec)
    )
    module = module.to("cpu").eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def write_torchscript(module: nn.Module, path: Path) -> None:
    """Script the module and save it atomically; load with ``torch.jit.load``."""
    scripted = torch.jit.script(module)
    with atomic_path(path) as tmp:
        scripted.save(str(tmp))


def write_onnx(module: nn.Module, obs_dim: int, path: Path) -> None:
    """Export the module to ONNX atomically, with a dynamic batch dimension.

    Input ``observations`` (B, obs_dim) float32, output ``actions``. Needs the ``export``
    extra (onnx, onnxscript; onnxruntime to run the model).
    """
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise GailError(
            "out=*.onnx needs the onnx packages: pip install 'gail-cli[export]'"
        ) from None
    example = torch.zeros(2, obs_dim, dtype=torch.float32)
    # the exporter's notes (e.g. "torchvision is not installed") are noise here
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            input_names=[OBS_NAME],
            output_names=[ACTION_NAME],
            dynamic_shapes={"observations": {0: torch.export.Dim("batch")}},
            external_data=False,
            verbose=False,
            dynamo=True,
        )


def out_format(out: Any) -> Path:
    """``out`` as a path whose suffix names a known format (.pt or .onnx)."""
    if not isinstance(out, str) or not out:
        raise GailError("out is not set; pass out=<file.pt> (TorchScript) or out=<file.onnx>")
    path = Path(out)
    if path.suffix not in FORMATS:
        raise GailError(
            f"out={out}: unknown format {path.suffix or '(no suffix)'!r}; "
            "end it in .pt (TorchScript) or .onnx (ONNX)"
        )
    return path


def policy_spec(env: EnvRecipe | str) -> EnvSpec:
    """The env's spaces (action bounds), read from one freshly made env."""
    envs = make_vector_env(env, 1)
    try:
        return env_spec(envs, as_recipe(env).id)
    finally:
        envs.close()


def export_checkpoint(cfg: DictConfig) -> Path:
    """gail-export: write the checkpoint's deterministic policy to cfg.out; returns it."""
    out = out_format(cfg.out)
    refuse_to_replace(out, bool(cfg.overwrite), f"out={out}")
    checkpoint_path = resolve_checkpoint(cfg.checkpoint)
    policy = load_policy(load_checkpoint(checkpoint_path), torch.device("cpu"))
    spec = policy_spec(policy.env)
    module = exported_policy(policy, spec)
    try:
        if out.suffix == ".pt":
            write_torchscript(module, out)
        else:
            write_onnx(module, policy.obs_dim, out)
    except OSError as exc:
        raise GailError(
            f"out={out}: cannot be written ({first_sentence(exc)}); choose another location"
        ) from None
    print(
        f"wrote {out}: {FORMATS[out.suffix]}, {policy.env_id} policy at "
        f"{policy.env_steps} env steps, observations (B, {policy.obs_dim}) float32 -> "
        f"actions (B, {policy.act_dim})",
        flush=True,
    )
    return out
