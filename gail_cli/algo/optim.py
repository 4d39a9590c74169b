"""Adam on one flat parameter tensor, without torch.optim's per-call machinery.

The update is Kingma & Ba's Adam as torch.optim.Adam computes it (bias-corrected first
and second moments, eps added to the corrected root). On CPU, with one small flat tensor,
torch.optim's bookkeeping cost several times the arithmetic; here a step is one call of
torch's fused Adam kernel (the one behind ``Adam(fused=True)``), or, on a torch without
it, the same formula in five in-place tensor operations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

FUSED_ADAM = getattr(torch, "_fused_adam_", None)


class FlatAdam:
    """Adam for a single parameter tensor whose ``.grad`` tensor is kept (never None).

    The tensor may be cut into consecutive parts (e.g. the actor's and the critic's
    parameters); each part keeps its own step count for Adam's bias correction, and a
    step may update only some parts. A part left out of a step is untouched: its
    moments and step count stay as they were, so when it starts training it takes the
    step sizes of a fresh Adam, not the near-full-size steps that bias correction gives
    zero moments after many counted steps.
    """

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        part_sizes: Sequence[int] | None = None,
    ) -> None:
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        sizes = list(part_sizes) if part_sizes is not None else [param.numel()]
        if sum(sizes) != param.numel() or min(sizes) < 1:
            raise ValueError(f"part sizes {sizes} do not split {param.numel()} parameters")
        bounds = [0, *itertools.accumulate(sizes)]
        self.parts = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        # float tensors on the parameter's device, as the fused kernel wants them
        self.step_counts = [
            torch.zeros((), dtype=torch.float32, device=param.device) for _ in self.parts
        ]
        self.counts = [0] * len(self.parts)  # the same counts, read without a device sync

    @property
    def steps(self) -> list[int]:
        """The number of steps each part has taken."""
        return list(self.counts)

    @torch.no_grad()
    def step(self, parts: Sequence[int] | None = None) -> None:
        """One Adam step on the given parts (indices into ``part_sizes``; default: all)."""
        grad = self.param.grad
        assert grad is not None
        chosen = list(range(len(self.parts))) if parts is None else list(parts)
        if not chosen:
            return
        for i in chosen:
            self.counts[i] += 1
            self.step_counts[i].add_(1)
        if len(chosen) == len(self.parts) and len(set(self.counts)) == 1:
            # every part at the same count: one step on the whole tensor
            views = [(self.param.data, grad, self.exp_avg, self.exp_avg_sq)]
            counts, numbers = [self.step_counts[0]], [self.counts[0]]
        else:
            cuts = [self.parts[i] for i in chosen]
            views = [
                (self.param.data[c], grad[c], self.exp_avg[c], self.exp_avg_sq[c]) for c in cuts
            ]
            counts = [self.step_counts[i] for i in chosen]
            numbers = [self.counts[i] for i in chosen]
        beta1, beta2 = self.betas
        if FUSED_ADAM is not None:
            params, grads, exp_avgs, exp_avg_sqs = (
                list(column) for column in zip(*views, strict=True)
            )
            FUSED_ADAM(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                counts,
                lr=self.lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=0.0,
                eps=self.eps,
                amsgrad=False,
                maximize=False,
            )
            return
        for (param, part_grad, exp_avg, exp_avg_sq), steps in zip(views, numbers, strict=True):
            exp_avg.lerp_(part_grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(part_grad, part_grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**steps)).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-self.lr / (1 - beta1**steps))

    def state_dict(self) -> dict[str, torch.Tensor | float | list[int]]:
        return {
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
            "steps": self.steps,
            "lr": self.lr,
        }

    def load_state_dict(self, state: dict[str, torch.Tensor | float | list[int]]) -> None:
        """Restore a state; a single step count (checkpoints before per-part counts)
        applies to every part."""
        self.exp_avg.copy_(state["exp_avg"])  # type: ignore[arg-type]
        self.exp_avg_sq.copy_(state["exp_avg_sq"])  # type: ignore[arg-type]
        steps = state["steps"]
        counts = steps if isinstance(steps, list) else [int(steps)] * len(self.parts)
        if len(counts) != len(self.parts):
            raise ValueError(f"{len(counts)} step counts for {len(self.parts)} parts")
        self.counts = [int(value) for value in counts]
        for count, value in zip(self.step_counts, self.counts, strict=True):
            count.fill_(value)
        self.lr = float(state["lr"])  # type: ignore[arg-type]
