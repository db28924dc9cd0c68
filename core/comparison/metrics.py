"""Every metric a run logs, as series a chart draws and a cursor reads: UI-free.

A metric reads a RunRecord (built from the run's events, so live and replayed runs chart alike)
and gives points on either x axis: epochs trained (fractional for per-batch and system metrics)
or seconds since the run started. Three kinds, by the event they come from:

- batch:  batch_logged, every `log_every` batches (training loss, learning rate, samples/s)
- epoch:  epoch_ended, after each epoch's test pass (test accuracy, test loss)
- system: device_sampled, every few seconds (device memory, GPU load, the runner's CPU and memory)
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

from core.runstore.results import RunRecord

X_AXES = ("epoch", "time")  # epochs trained, or wall time since each run started
GIB = 2**30


class Point(NamedTuple):  # a tuple: twenty runs make tens of thousands of them per redraw
    x: float  # on the chart's x axis: epochs trained, or seconds since the run started
    value: float  # in the metric's unit (accuracy in percent)
    epoch: float  # epochs trained at this point (whole for epoch metrics)
    step: int | None  # batches trained, for batch metrics


@dataclass(frozen=True)
class Metric:
    key: str  # "train_loss": what `--metric`-like choices and tests name
    title: str  # the chart's title, longest first; shorter ones for narrow charts
    short: str
    kind: str  # "batch", "epoch" or "system"
    unit: str = ""  # appended to a value read at the cursor
    floor: float | None = None  # the y axis never goes below (0 for what cannot be negative)
    ceiling: float | None = None  # nor above (100 for percentages of a whole)
    digits: int = 4  # significant digits of a value read at the cursor

    def format(self, value: float) -> str:
        """A value as the cursor lists it: `0.0931`, `98.12%`, `12,345 samples/s`, `3.2 GiB`."""
        if not math.isfinite(value):
            return str(value)
        if self.unit == "%":
            return f"{value:.2f}%"
        if abs(value) >= 1000:
            return f"{value:,.0f}{self.unit and ' ' + self.unit}"
        return f"{value:.{self.digits}g}{self.unit and ' ' + self.unit}"


def _batch(read: Callable) -> Callable[[RunRecord], list[tuple[float, float, int | None, float]]]:
    return lambda r: [(p.x, p.seconds, p.step, read(p)) for p in r.batch_points]


def _epoch(values: Callable[[RunRecord], dict[int, float]], scale: float = 1.0) -> Callable:
    def read(r: RunRecord) -> list[tuple[float, float, int | None, float]]:
        by_epoch = values(r)
        return [(float(e), r.epoch_seconds.get(e, math.nan), None, by_epoch[e] * scale) for e in sorted(by_epoch)]
    return read


def _train_loss(r: RunRecord) -> list[tuple[float, float, int | None, float]]:
    """Every logged window's loss; a run that logged none (fewer batches an epoch than
    `log_every`) still has each epoch's mean, at the epoch's end."""
    if r.batch_points:
        return [(p.x, p.seconds, p.step, p.loss) for p in r.batch_points]
    return _epoch(lambda rec: rec.train_losses)(r)


def _system(read: Callable) -> Callable:
    def points(r: RunRecord) -> list[tuple[float, float, int | None, float]]:
        samples = [(s.elapsed, v) for s in r.samples if (v := read(s)) is not None]
        if not samples:
            return []
        at = epoch_clock(r)
        return [(at(seconds), seconds, None, v) for seconds, v in samples]
    points.read = read  # has_data asks it alone: cheaper than building the series
    return points


def _gib(value: int | None) -> float | None:
    return None if value is None else value / GIB


# The order `[` and `]` cycle through. (reader: record -> (epochs, seconds, step, value) tuples)
METRICS: dict[str, tuple[Metric, Callable]] = {
    m.key: (m, reader) for m, reader in [
        (Metric("train_loss", "training loss", "loss", "batch", floor=0.0), _train_loss),
        (Metric("test_accuracy", "test accuracy %", "accuracy %", "epoch", "%", 0.0, 100.0), _epoch(lambda r: r.accuracies, 100.0)),
        (Metric("test_loss", "test loss", "test loss", "epoch", floor=0.0), _epoch(lambda r: r.test_losses)),
        (Metric("lr", "learning rate", "lr", "batch", floor=0.0, digits=3), _batch(lambda p: p.lr)),
        (Metric("samples_per_sec", "samples/s", "samples/s", "batch", floor=0.0), _batch(lambda p: p.samples_per_sec)),
        (Metric("device_memory", "device memory in use, GiB (CPU: the machine's)", "device mem GiB", "system", "GiB", 0.0, digits=3),
         _system(lambda s: _gib(s.memory_used))),
        (Metric("gpu_utilization", "GPU utilisation %", "GPU %", "system", "%", 0.0, 100.0), _system(lambda s: s.utilization)),
        (Metric("gpu_temperature", "GPU temperature °C", "GPU °C", "system", "°C", 0.0, digits=3), _system(lambda s: s.temperature)),
        (Metric("gpu_power", "GPU power, W", "GPU W", "system", "W", 0.0, digits=3), _system(lambda s: s.power)),
        (Metric("runner_cpu", "runner CPU, % of one core", "CPU %", "system", "%", 0.0, digits=3), _system(lambda s: s.cpu_percent)),
        (Metric("runner_memory", "runner memory (resident), GiB", "runner GiB", "system", "GiB", 0.0, digits=3),
         _system(lambda s: _gib(s.runner_memory))),
    ]
}
ALWAYS_SHOWN = ("train_loss", "test_accuracy", "test_loss")  # cycled to even before a run logs them


def metric(key: str) -> Metric:
    """The metric named `key`; KeyError names the known ones."""
    try:
        return METRICS[key][0]
    except KeyError:
        raise KeyError(f"no metric {key!r}; metrics: {', '.join(METRICS)}") from None


def epoch_clock(record: RunRecord) -> Callable[[float], float]:
    """A function from seconds into the run to epochs trained then, interpolated between its
    logged batches (a device sample has only a time). Before the first log: from the epochs it
    started from at 0 s; after the last: as far as it had got (epochs that had ended count)."""
    xs = [float(record.start_epoch)] + [p.x for p in record.batch_points]
    times = [0.0] + [p.seconds for p in record.batch_points]
    ended = sorted((t, float(e)) for e, t in record.epoch_seconds.items())

    def epochs_at(seconds: float) -> float:
        i = bisect.bisect_right(times, seconds)
        if i == len(times):
            return max([xs[-1]] + [e for t, e in ended if t <= seconds])
        (x0, t0), (x1, t1) = (xs[i - 1], times[i - 1]), (xs[i], times[i])
        return x0 if t1 <= t0 else x0 + (x1 - x0) * (seconds - t0) / (t1 - t0)
    return epochs_at


def series(record: RunRecord, key: str, x_axis: str = "epoch") -> list[Point]:
    """The run's points of metric `key`, in logged order, x on `x_axis` ("epoch" or "time").

    Points without a time (epoch events of logs that lack one) are left out on the time axis.
    Raises KeyError for an unknown metric, ValueError for an unknown axis."""
    if x_axis not in X_AXES:
        raise ValueError(f"x axis must be one of {', '.join(X_AXES)}, not {x_axis!r}")
    reader = METRICS[key][1] if key in METRICS else metric(key)  # metric() raises the KeyError that names them
    points = []
    for epochs, seconds, step, value in reader(record):
        x = epochs if x_axis == "epoch" else seconds
        if math.isfinite(x):
            points.append(Point(x, value, epochs, step))
    return points


def has_data(records: list[RunRecord], key: str) -> bool:
    """Has any of `records` logged metric `key`? (Without building a series: asked per key press.)"""
    kind, read = metric(key).kind, METRICS[key][1]
    if kind == "batch":
        return any(r.batch_points for r in records)
    if kind == "epoch":
        return any(r.accuracies for r in records)
    return any(read.read(s) is not None for r in records for s in r.samples)


def value_at(points: list[Point], x: float, span: tuple[float, float] | None = None) -> Point | None:
    """The point a cursor at `x` reads: the run's point nearest to `x` (the one drawn there; its
    own epoch or step says where it lies); None outside the run's `span` (start to end on the
    axis, widened by half a point's spacing; without one, its first to its last point): it had
    not got there. `points` sorted by x."""
    if not points:
        return None
    lo, hi = span if span is not None else (points[0].x, points[-1].x)
    pad = _tolerance(points)
    if x < min(lo, points[0].x) - pad or x > max(hi, points[-1].x) + pad:
        return None
    i = bisect.bisect_left([p.x for p in points], x)
    near = points[max(0, i - 1): i + 1]
    return min(near, key=lambda p: abs(p.x - x))


def span(record: RunRecord, x_axis: str) -> tuple[float, float]:
    """Where a run lies on `x_axis`: from the epochs it started from to the last it trained
    (its last batch or its last epoch's end), or from 0 to its seconds so far."""
    if x_axis == "time":
        return 0.0, record.seconds or 0.0
    last = record.batch_points[-1].x if record.batch_points else 0.0
    return float(record.start_epoch), max(last, float(record.last_epoch))


def _tolerance(points: list[Point]) -> float:
    """Half a point's spacing: a cursor just past a run's last point still reads it."""
    return (points[-1].x - points[0].x) / max(1, len(points) - 1) / 2


def where(metric_: Metric, point: Point) -> str:
    """Where a value read at the cursor lies, in the field's terms: `ep 3`, `step 1,200`, `ep 2.4`."""
    if metric_.kind == "epoch":
        return f"ep {point.epoch:.0f}"
    if point.step is not None:
        return f"step {point.step:,}"
    return f"ep {point.epoch:.1f}"


def time_unit(seconds: float) -> tuple[float, str]:
    """(divisor, label) for a wall-time axis reaching `seconds`: seconds, minutes or hours."""
    if seconds >= 3 * 3600:
        return 3600.0, "hours"
    if seconds >= 180:
        return 60.0, "minutes"
    return 1.0, "seconds"


def downsample(points: list, limit: int) -> list:
    """Every k-th point so that at most `limit` remain; the newest point is always kept."""
    if len(points) <= limit:
        return points
    stride = math.ceil(len(points) / limit)
    thinned = points[::stride]
    if thinned[-1] is not points[-1]:
        thinned = thinned[:-1] + [points[-1]]
    return thinned


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average (TensorBoard's smoothing): each value `weight` of the last
    average plus `1 - weight` of itself."""
    out, last = [], None
    for value in values:
        last = value if last is None else weight * last + (1 - weight) * value
        out.append(last)
    return out
