"""Learning-rate schedules, as pure functions of the step (the seed's analysis asks for decay).

`lr_at(schedule, base_lr, step, total_steps)` gives the rate for 0-based `step` of a run of
`total_steps` optimizer steps. The trainer writes it into the optimizer before each step.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "step", "cosine", "onecycle")
STEP_MILESTONES = (0.5, 0.75)  # step decay: x0.1 after half of training, again after three quarters
STEP_FACTOR = 0.1
ONECYCLE_WARMUP = 0.3  # one-cycle (as torch's OneCycleLR): warm up for 30% of the steps...
ONECYCLE_DIV = 25.0  # ...from base/25 to base...
ONECYCLE_FINAL_DIV = 1e4  # ...then anneal to base/25/1e4


def _cosine(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * fraction))


def lr_at(schedule: str, base_lr: float, step: int, total_steps: int) -> float:
    total = max(1, total_steps)
    if schedule == "constant":
        return base_lr
    if schedule == "step":
        passed = sum(step >= int(m * total) for m in STEP_MILESTONES)
        return base_lr * STEP_FACTOR**passed
    if schedule == "cosine":
        return _cosine(base_lr, 0.0, min(step, total) / total)
    if schedule == "onecycle":
        initial = base_lr / ONECYCLE_DIV
        final = initial / ONECYCLE_FINAL_DIV
        warm = float(ONECYCLE_WARMUP * total) - 1  # torch's phase boundary (a step index)
        if step <= warm:
            return _cosine(initial, base_lr, step / warm if warm > 0 else 1.0)
        return _cosine(base_lr, final, (step - warm) / max(total - 1 - warm, 1e-9))
    raise ValueError(f"unknown schedule {schedule!r}")
