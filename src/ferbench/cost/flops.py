"""Parameters and FLOPs per image, counted by ``torch.utils.flop_counter`` (no hand-written formulas)."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_params(module: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


@torch.no_grad()
def count_flops(module: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on a single image of ``input_shape`` (C, H, W). A multiply-add counts as
    two FLOPs, as ``FlopCounterMode`` reports."""
    was_training = module.training
    module.eval()
    try:
        param = next(module.parameters(), None)
        device = param.device if param is not None else "cpu"
        x = torch.zeros((1, *input_shape), device=device)
        with FlopCounterMode(display=False) as counter:
            module(x)
        return int(counter.get_total_flops())
    finally:
        module.train(was_training)
