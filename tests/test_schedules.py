"""Learning-rate schedules: each equals its formula, and one-cycle equals torch's OneCycleLR."""

import math

import pytest
import torch

from core.config import RunConfig
from core.events import BatchLogged
from core.training.schedules import lr_at
from core.training.trainer import run_events


def test_constant_is_the_seeds():
    assert [lr_at("constant", 0.01, s, 100) for s in (0, 50, 99)] == [0.01] * 3


def test_step_decay_drops_tenfold_at_half_and_three_quarters():
    assert lr_at("step", 0.1, 0, 100) == 0.1
    assert lr_at("step", 0.1, 49, 100) == 0.1
    assert lr_at("step", 0.1, 50, 100) == pytest.approx(0.01)
    assert lr_at("step", 0.1, 74, 100) == pytest.approx(0.01)
    assert lr_at("step", 0.1, 75, 100) == pytest.approx(0.001)


@pytest.mark.parametrize("step", [0, 1, 25, 50, 99, 100])
def test_cosine_follows_half_a_cosine_to_zero(step):
    assert lr_at("cosine", 0.1, step, 100) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * step / 100)))


def test_onecycle_equals_torchs_one_cycle_lr():
    total = 200
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=total, cycle_momentum=False)
    for step in range(total):
        assert lr_at("onecycle", 0.1, step, total) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-9), step
        optimizer.step()
        reference.step()
    assert lr_at("onecycle", 0.1, 59, total) == pytest.approx(0.1)  # the peak, after 30% warm-up


def test_the_trainer_applies_the_schedule_and_reports_the_rate(data_dir):
    config = RunConfig(train_size=640, test_size=100, epochs=2, log_every=5, lr=0.05, schedule="cosine")
    logged = [e for e in run_events(config, "s", data_dir=data_dir) if isinstance(e, BatchLogged)]
    # the rate in force for the last batch of each window: step index = global step - 1 of 20
    assert [e.lr for e in logged] == pytest.approx([lr_at("cosine", 0.05, e.step - 1, 20) for e in logged])
    assert logged[0].lr > logged[-1].lr
