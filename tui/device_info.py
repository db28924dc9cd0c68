"""The device panel: what the run's runner last reported about its device (a DeviceSampled event).

The dashboard never asks torch or the GPU itself: it would need torch loaded and a CUDA context.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from core.runstore.results import RunRecord


def _bytes(value: int | None) -> str:
    return "?" if value is None else f"{value / 2**30:.1f} GiB"


def device_report(record: RunRecord, current: RunRecord | None) -> Table:
    table = Table(title="device", title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("this run", Text(record.where or record.config.device))
    stats = record.device_stats
    if stats is None:
        table.add_row("report", "none yet (the runner reports every few seconds)" if record.status == "running" else "none recorded")
    else:
        gpu = stats.device.startswith("cuda")
        table.add_row("name", Text(stats.name))
        table.add_row("memory", f"{_bytes(stats.memory_used)} in use of {_bytes(stats.memory_total)}" + (" (all processes)" if gpu else " (this machine)"))
        table.add_row("this run", f"{_bytes(stats.process_memory)} " + ("allocated by torch" if gpu else "resident"))
        if stats.utilization is not None:
            table.add_row("utilisation", f"{stats.utilization:.0f}%")
            table.add_row("temperature", f"{stats.temperature:.0f} °C" if stats.temperature is not None else "?")
            table.add_row("power", f"{stats.power:.0f} W" if stats.power is not None else "?")
        elif gpu:
            table.add_row("utilisation", "install nvidia-ml-py for utilisation, temperature and power")
        table.add_row("reported", f"{stats.elapsed:.0f} s into the run")
    if current is not None and current.last_batch is not None:
        table.add_row("training now", Text(f"{current.label}: {current.last_batch.samples_per_sec:,.0f} samples/s on {current.device}"))
    else:
        table.add_row("training now", "nothing")
    return table
