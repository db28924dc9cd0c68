"""The learning-rate range test (part of the search issue): on the seed CNN and real MNIST it
suggests a rate in the range the report found good; bad flags are refused, naming the flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.training.lr_find import LrPoint, rates, suggest

pytestmark = pytest.mark.timeout(180)


def test_rates_rise_geometrically_from_start_to_end():
    steps = rates(1e-6, 1.0, 100)
    assert steps[0] == pytest.approx(1e-6) and steps[-1] == pytest.approx(1.0) and len(steps) == 100
    assert len({round(b / a, 9) for a, b in zip(steps, steps[1:])}) == 1


def test_the_suggestion_is_the_steepest_descent_of_the_smoothed_loss():
    lrs = rates(1e-4, 1.0, 41)
    # flat, then falling fastest around 1e-2, then rising
    curve = [2.3 - 1.5 / (1 + (1e-2 / lr) ** 3) + (5 * lr if lr > 0.1 else 0) for lr in lrs]
    points = [LrPoint(k + 1, lr, loss, loss) for k, (lr, loss) in enumerate(zip(lrs, curve))]
    assert suggest(points) == pytest.approx(1e-2, rel=0.3)
    assert suggest(points[:12]) is None  # too few points after trimming


def test_lr_find_on_the_seed_cnn_suggests_a_rate_near_the_reports_best(data_dir):
    result = subprocess.run([sys.executable, "-m", "tui", "lr-find", "--device", "cpu", "--train-size", "12800"],
                            capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[-1]
    assert line.startswith("suggested learning rate: ") and "steepest descent of the smoothed loss" in line
    assert 0.003 <= float(line.split(": ")[1].split()[0]) <= 0.3  # the report's best was 0.01


@pytest.mark.parametrize("args,words", [
    (["--start-lr", "1e-1", "--end-lr", "1e-4"], "--start-lr: must be below --end-lr"),
    (["--start-lr", "abc"], "--start-lr: must be a number"),
    (["--end-lr", "0"], "--end-lr: must be above 0"),
    (["--batches", "1"], "--batches: must be from 2 to 10000"),
    (["--batch-size", "0"], "--batch-size:"),
])
def test_bad_flags_are_refused_naming_the_flag(args, words):
    result = subprocess.run([sys.executable, "-m", "tui", "lr-find", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and words in result.stderr, result.stderr
