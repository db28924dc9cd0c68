"""A model summary, layer by layer (what the seed drew with TensorBoard's graph)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.training.models import build_model, parameter_count


@dataclass(frozen=True)
class LayerRow:
    name: str  # e.g. "layer2.0"
    kind: str  # e.g. "Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1))"
    output_shape: tuple[int, ...]  # without the batch dimension
    parameters: int  # this layer's own parameters


def summarize(model_name: str) -> tuple[list[LayerRow], int]:
    """Every leaf layer in forward order with its output shape and parameter count, and the total."""
    model = build_model(model_name).eval()
    rows: list[LayerRow] = []
    hooks = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue

        def record(module, _inputs, output, name=name) -> None:
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(LayerRow(name, repr(module), tuple(output.shape[1:]), own))

        hooks.append(module.register_forward_hook(record))
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    return rows, parameter_count(model)
