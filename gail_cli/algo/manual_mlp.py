"""Forward and backward passes of an ``nets.mlp`` written out, without autograd.

The hand-derived PPO gradient (``ppo_loss.ManualGradient``) runs its networks through
:class:`ManualMLP`, and PPO's no-grad value passes use its faster forward. Shapes: B rows,
``in`` / ``out`` the network's input and output widths.
"""

from __future__ import annotations

import torch
from torch import nn


class ManualMLP:
    """Forward and backward of an ``nets.mlp`` Sequential (Linear, activation, ..., Linear).

    The backward writes each layer's weight and bias gradient into the existing
    ``.grad`` tensors (overwriting them), so nothing needs zeroing between steps.
    """

    def __init__(self, net: nn.Sequential) -> None:
        self.linears = [m for m in net if isinstance(m, nn.Linear)]
        kinds = {type(m) for m in net if not isinstance(m, nn.Linear)}
        if len(kinds) > 1 or not kinds <= {nn.Tanh, nn.ReLU, nn.ELU}:
            raise ValueError(f"unsupported MLP activations: {kinds}")
        self.activation = kinds.pop() if kinds else nn.Tanh
        if self.activation is nn.ELU and any(m.alpha != 1.0 for m in net if isinstance(m, nn.ELU)):
            raise ValueError("ELU with alpha != 1 is not supported")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output (B, out) and the input of every linear layer (kept for the backward).

        tanh is computed as 2σ(2z) - 1, with the 2z folded into the layer's addmm: on
        CPU torch's tanh kernel is several times slower than its sigmoid
        (docs/performance.md); the results agree to float rounding.
        """
        inputs = []
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            inputs.append(x)
            if i == last:
                x = torch.addmm(layer.bias, x, layer.weight.t())
            elif self.activation is nn.Tanh:
                x = torch.addmm(layer.bias, x, layer.weight.t(), beta=2, alpha=2)
                x = x.sigmoid_().mul_(2.0).sub_(1.0)
            elif self.activation is nn.ReLU:
                x = torch.addmm(layer.bias, x, layer.weight.t()).relu_()
            else:
                x = torch.nn.functional.elu(
                    torch.addmm(layer.bias, x, layer.weight.t()), inplace=True
                )
        return x, inputs

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output (B, out) alone (no-grad passes: values, inference)."""
        return self.forward(x)[0]

    def _activation_slope(self, h: torch.Tensor) -> torch.Tensor:
        """The activation's derivative, from its output h (B, width)."""
        if self.activation is nn.Tanh:
            return 1.0 - h * h
        if self.activation is nn.ReLU:
            return (h > 0).to(h.dtype)
        return torch.where(h > 0, 1.0, h + 1.0)  # ELU(alpha=1): exp(x) = h + 1 for x <= 0

    def backward(self, inputs: list[torch.Tensor], grad_out: torch.Tensor) -> None:
        """Write d loss / d parameters, given d loss / d output (B, out)."""
        grad = grad_out
        for i in range(len(self.linears) - 1, -1, -1):
            layer = self.linears[i]
            assert layer.weight.grad is not None and layer.bias.grad is not None
            torch.mm(grad.t(), inputs[i], out=layer.weight.grad)
            torch.sum(grad, 0, out=layer.bias.grad)
            if i > 0:
                grad = torch.mm(grad, layer.weight).mul_(self._activation_slope(inputs[i]))
