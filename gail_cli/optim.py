"""Adam on one flat parameter tensor, without torch.optim's per-call machinery.

The update is Kingma & Ba's Adam exactly as torch.optim.Adam computes it (bias-corrected
first and second moments, eps added to the corrected root); on CPU, with one small flat
tensor, torch.optim's bookkeeping cost several times the arithmetic.
"""

from __future__ import annotations

import math

import torch


class FlatAdam:
    """Adam for a single parameter tensor whose ``.grad`` is kept (zeroed, never None)."""

    def __init__(
        self,
        param: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        grad = self.param.grad
        assert grad is not None
        beta1, beta2 = self.betas
        self.steps += 1
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        denom = (self.exp_avg_sq.sqrt() / math.sqrt(correction2)).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-self.lr / correction1)

    def state_dict(self) -> dict[str, torch.Tensor | float | int]:
        return {
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
            "steps": self.steps,
            "lr": self.lr,
        }

    def load_state_dict(self, state: dict[str, torch.Tensor | float | int]) -> None:
        self.exp_avg.copy_(state["exp_avg"])  # type: ignore[arg-type]
        self.exp_avg_sq.copy_(state["exp_avg_sq"])  # type: ignore[arg-type]
        self.steps = int(state["steps"])
        self.lr = float(state["lr"])
