"""The learning-rate range test (core.training.lr_find) in a process of its own, for the dashboard,
which never imports torch: its form starts

    python -m core.training.lr_find_process '{"model": "cnn", ..., "start_lr": 1e-6, "end_lr": 1, "batches": 100, "data_dir": null}'

(the configuration's fields as RunConfig.to_dict gives them, beside the test's own four) and reads
one JSON object a line from its stdout:

    {"point": {"batch": 1, "lr": 1e-06, "loss": 2.31, "smoothed": 2.31}}    one per batch, as it trains
    {"suggestion": 0.0266, "rule": "...", "stopped_early": true}             at the end (null: too few points)
    {"error": "batch_size: must be ..."}                                     a bad field, no data: one line for a person

SIGTERM or SIGINT ends it quietly (no traceback, no last line): before the test trains at once,
then after the batch under way. So does a reader that went away (its pipe closed). It is not a
run: nothing is written to the run store.

Importing this module does not import torch (the dashboard reads the lines with `read_line`):
only `main` does.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

MAX_LINE = 4096  # bytes: a longer line is not one of ours
MAX_BATCHES = 10_000
# Torch takes every core by default; the test is a side task beside runs that may be training.
THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))


@dataclass(frozen=True)
class Point:
    batch: int
    lr: float
    loss: float
    smoothed: float


@dataclass(frozen=True)
class Done:
    suggestion: float | None
    rule: str
    stopped_early: bool


@dataclass(frozen=True)
class Failed:
    error: str


def _finite(value: Any, *, positive: bool = False) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and (value > 0 or not positive)


def read_line(line: bytes) -> Point | Done | Failed | None:
    """One line of the process's output, checked field by field (it is never trusted blindly);
    None for anything that is not one of the three messages above."""
    if len(line) > MAX_LINE:
        return None
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    if isinstance(point := message.get("point"), dict):
        batch, lr, loss, smoothed = (point.get(k) for k in ("batch", "lr", "loss", "smoothed"))
        if (isinstance(batch, int) and not isinstance(batch, bool) and 1 <= batch <= MAX_BATCHES
                and _finite(lr, positive=True) and _finite(loss) and _finite(smoothed)):
            return Point(batch, float(lr), float(loss), float(smoothed))
        return None
    if "suggestion" in message:
        rate, rule, early = message.get("suggestion"), message.get("rule"), message.get("stopped_early")
        if (rate is None or _finite(rate, positive=True)) and isinstance(rule, str) and isinstance(early, bool):
            return Done(None if rate is None else float(rate), rule[:200], early)
        return None
    if isinstance(error := message.get("error"), str) and error.strip():
        return Failed(" ".join(error.split())[:1000])
    return None


class _ReaderGone(Exception):
    """Our stdout's reader closed its end: nobody is listening any more."""


def _emit(message: dict) -> None:
    try:
        sys.stdout.write(json.dumps(message, allow_nan=False) + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError) as gone:  # ValueError: a non-finite number, never sent as NaN
        if isinstance(gone, BrokenPipeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no "Exception ignored" at exit
            raise _ReaderGone from None
        raise


def _request(argv: list[str]) -> dict:
    from core.config import ConfigError

    if len(argv) != 1:
        raise ConfigError("request", "give one JSON object (the configuration, start_lr, end_lr, batches, data_dir)")
    try:
        request = json.loads(argv[0])
    except ValueError as bad:
        raise ConfigError("request", f"not JSON: {bad}") from None
    if not isinstance(request, dict):
        raise ConfigError("request", "must be a JSON object")
    for key in ("start_lr", "end_lr"):
        if key in request and not _finite(request[key], positive=True):
            raise ConfigError(key, f"must be a number above 0, not {request[key]!r}")
    batches = request.get("batches", 100)
    if not (isinstance(batches, int) and not isinstance(batches, bool) and 2 <= batches <= MAX_BATCHES):
        raise ConfigError("batches", f"must be a whole number from 2 to {MAX_BATCHES}, not {batches!r}")
    if request.get("data_dir") is not None and not isinstance(request["data_dir"], str):
        raise ConfigError("data_dir", "must be a path")
    return request


def main(argv: list[str]) -> int:
    cancel = threading.Event()
    training = threading.Event()

    def stop(signum, frame) -> None:
        cancel.set()
        if not training.is_set():  # importing torch or reading the data: nothing to finish
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from core.config import ConfigError, RunConfig

    try:
        request = _request(argv)
        config = RunConfig.from_dict(request)
        import torch

        from core.training.data import DataError
        from core.training.lr_find import SUGGESTION_RULE, lr_range_test, suggest

        if "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(THREADS)
        batches = request.get("batches", 100)
        points = []
        test = lr_range_test(config, start_lr=float(request.get("start_lr", 1e-6)), end_lr=float(request.get("end_lr", 1.0)),
                             batches=batches, data_dir=request.get("data_dir"), cancel=cancel)
        try:
            training.set()
            if cancel.is_set():
                return 128 + signal.SIGTERM
            for point in test:
                points.append(point)
                _emit({"point": {"batch": point.batch, "lr": point.lr, "loss": point.loss, "smoothed": point.smoothed}})
        except (ConfigError, DataError) as bad:
            _emit({"error": str(bad)})
            return 1
        if cancel.is_set():
            return 128 + signal.SIGTERM
        _emit({"suggestion": suggest(points), "rule": SUGGESTION_RULE, "stopped_early": len(points) < batches})
        return 0
    except ConfigError as bad:
        _emit({"error": str(bad)})
        return 1
    except _ReaderGone:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
