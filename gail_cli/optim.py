"""Adam on one flat parameter tensor, without torch.optim's per-call machinery.

The update is Kingma & Ba's Adam as torch.optim.Adam computes it (bias-corrected first
and second moments, eps added to the corrected root). On CPU, with one small flat tensor,
torch.optim's bookkeeping cost several times the arithmetic; here a step is one call of
torch's fused Adam kernel (the one behind ``Adam(fused=True)``), or, on a torch without
it, the same formula in five in-place tensor operations.
"""

from __future__ import annotations

import math

import torch

FUSED_ADAM = getattr(torch, "_fused_adam_", None)


class FlatAdam:
    """Adam for a single parameter tensor whose ``.grad`` tensor is kept (never None)."""

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
        # a float tensor on the parameter's device, as the fused kernel wants it
        self.step_count = torch.zeros((), dtype=torch.float32, device=param.device)

    @property
    def steps(self) -> int:
        return int(self.step_count.item())

    @torch.no_grad()
    def step(self) -> None:
        grad = self.param.grad
        assert grad is not None
        beta1, beta2 = self.betas
        self.step_count.add_(1)
        if FUSED_ADAM is not None:
            FUSED_ADAM(
                [self.param.data],
                [grad],
                [self.exp_avg],
                [self.exp_avg_sq],
                [],
                [self.step_count],
                lr=self.lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=0.0,
                eps=self.eps,
                amsgrad=False,
                maximize=False,
            )
            return
        steps = self.steps
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (self.exp_avg_sq.sqrt() / math.sqrt(1 - beta2**steps)).add_(self.eps)
        self.param.addcdiv_(self.exp_avg, denom, value=-self.lr / (1 - beta1**steps))

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
        self.step_count.fill_(int(state["steps"]))  # type: ignore[arg-type]
        self.lr = float(state["lr"])
