"""The charts' data handling: long runs are thinned, smoothing is a moving average, status maths."""

from core.config import RunConfig
from core.events import BatchLogged
from core.results import RunRecord
from tui.widgets.loss_chart import MAX_POINTS, downsample, smooth
from tui.widgets.status_line import clock, eta_seconds, progress_bar


def test_a_long_series_is_thinned_to_about_a_thousand_points_keeping_the_newest():
    points = [(i / 938, 2.0 / (1 + i)) for i in range(938 * 50)]  # 50 epochs, a point per batch
    thinned = downsample(points)
    assert len(thinned) <= MAX_POINTS + 1 and thinned[0] == points[0] and thinned[-1] == points[-1]
    assert downsample(points[:500]) == points[:500]


def test_smoothing_is_an_exponential_moving_average():
    assert smooth([1.0, 0.0, 0.0], weight=0.5) == [1.0, 0.5, 0.25]


def test_eta_and_progress():
    record = RunRecord("r", RunConfig(epochs=2, batch_size=64))
    record.batches_per_epoch = 100
    record.last_batch = BatchLogged("r", 1, 50, 50, 0.5, 6400.0, 5.0, 0.01)  # 100 batches/s
    assert eta_seconds(record) == 1.5  # 150 batches left
    assert progress_bar(0.5, 8) == "████░░░░" and clock(3725) == "1:02:05" and clock(62) == "1:02"
