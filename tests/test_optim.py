"""FlatAdam against torch.optim.Adam, on the fused kernel and on the fallback formula."""

from __future__ import annotations

import pytest
import torch

import gail_cli.optim
from gail_cli.optim import FlatAdam


@pytest.mark.parametrize("fused", [True, False])
def test_flat_adam_follows_torch_adam(fused: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fused:
        monkeypatch.setattr(gail_cli.optim, "FUSED_ADAM", None)
    elif gail_cli.optim.FUSED_ADAM is None:
        pytest.skip("this torch has no fused Adam kernel")
    torch.manual_seed(0)
    mine = torch.nn.Parameter(torch.randn(50))
    mine.grad = torch.zeros(50)
    ref = torch.nn.Parameter(mine.detach().clone())
    ours, theirs = FlatAdam(mine, lr=0.05, eps=1e-5), torch.optim.Adam([ref], lr=0.05, eps=1e-5)
    for step in range(20):
        grad = torch.randn(50)
        mine.grad.copy_(grad)
        ref.grad = grad.clone()
        ours.step()
        theirs.step()
        if step == 9:  # a round trip through state_dict changes nothing
            restored = FlatAdam(mine, lr=0.0, eps=1e-5)
            restored.load_state_dict(ours.state_dict())
            ours = restored
    assert ours.steps == 20
    assert torch.allclose(mine, ref, atol=1e-6)
