"""FlatAdam against torch.optim.Adam, on the fused kernel and on the fallback formula."""

from __future__ import annotations

import pytest
import torch

import gail_cli.algo.optim
from gail_cli.algo.optim import FlatAdam


@pytest.fixture(params=["fused", "formula"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on torch's fused Adam kernel, then on FlatAdam's own formula."""
    if request.param == "formula":
        monkeypatch.setattr(gail_cli.algo.optim, "FUSED_ADAM", None)
    elif gail_cli.algo.optim.FUSED_ADAM is None:
        pytest.skip("this torch has no fused Adam kernel")
    return request.param


@pytest.mark.usefixtures("kernel")
def test_flat_adam_follows_torch_adam() -> None:
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
    assert ours.steps == [20]
    assert torch.allclose(mine, ref, atol=1e-6)


def test_parts_keep_their_own_step_counts() -> None:
    param = torch.nn.Parameter(torch.zeros(5))
    param.grad = torch.ones(5)
    adam = FlatAdam(param, lr=0.1, part_sizes=(2, 3))
    adam.step(parts=(1,))
    adam.step(parts=(1,))
    assert adam.steps == [0, 2]
    assert torch.equal(param.detach()[:2], torch.zeros(2))  # a part left out stays put
    adam.step()
    assert adam.steps == [1, 3]
    # the first step of a part is a fresh Adam's: lr times the gradient's sign
    assert torch.allclose(param.detach()[:2], torch.full((2,), -0.1))


@pytest.mark.usefixtures("kernel")
def test_a_part_follows_torch_adam_after_the_other_trained_alone() -> None:
    torch.manual_seed(0)
    mine = torch.nn.Parameter(torch.randn(30))
    mine.grad = torch.zeros(30)
    ours = FlatAdam(mine, lr=0.05, eps=1e-5, part_sizes=(10, 20))
    for _ in range(50):  # the second part trains alone
        mine.grad.normal_()
        ours.step(parts=(1,))
    ref = torch.nn.Parameter(mine.detach()[:10].clone())
    theirs = torch.optim.Adam([ref], lr=0.05, eps=1e-5)
    for _ in range(10):
        mine.grad.normal_()
        ref.grad = mine.grad[:10].clone()
        ours.step()
        theirs.step()
    assert ours.steps == [10, 60]
    assert torch.allclose(mine.detach()[:10], ref.detach(), atol=1e-6)


def test_a_checkpoint_with_one_step_count_loads_into_every_part() -> None:
    param = torch.nn.Parameter(torch.zeros(4))
    param.grad = torch.zeros(4)
    adam = FlatAdam(param, lr=0.1, part_sizes=(1, 3))
    adam.load_state_dict(
        {"exp_avg": torch.zeros(4), "exp_avg_sq": torch.zeros(4), "steps": 7, "lr": 0.2}
    )
    assert adam.steps == [7, 7] and adam.lr == 0.2
