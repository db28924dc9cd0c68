"""What the runner reports about its device (memory, and with nvidia-ml-py a GPU's load) and
about itself (CPU and resident memory).

Runs in the runner process, never in the dashboard (which must not create a CUDA context).
The GPU branch has not run on a GPU yet (no GPU was at hand when it was written).
"""

from __future__ import annotations

import os
import time

import torch


def _linux_memory() -> tuple[int | None, int | None]:
    """(bytes in use, bytes in all) of this machine, from /proc/meminfo."""
    try:
        fields = dict(line.split(":", 1) for line in open("/proc/meminfo", encoding="ascii"))
        total = int(fields["MemTotal"].split()[0]) * 1024
        available = int(fields["MemAvailable"].split()[0]) * 1024
        return total - available, total
    except (OSError, KeyError, ValueError):
        return None, None


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _nvml(index: int) -> dict[str, float]:
    try:
        import pynvml  # nvidia-ml-py, optional
    except ImportError:
        return {}
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        return {
            "utilization": float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
            "temperature": float(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)),
            "power": pynvml.nvmlDeviceGetPowerUsage(handle) / 1000,
        }
    except Exception:  # no driver, no permission: report memory only
        return {}


class CpuMeter:
    """This process's CPU use between two readings, in percent of one core (all its threads:
    200 is two cores busy), from `time.process_time` (user + system time)."""

    def __init__(self) -> None:
        self._last = (time.process_time(), time.perf_counter())

    def percent(self) -> float | None:
        """Since the last reading (or since it was made); None over less than 10 ms (too noisy)."""
        cpu, wall = time.process_time(), time.perf_counter()
        used, spent = cpu - self._last[0], wall - self._last[1]
        if spent < 0.01:
            return None
        self._last = (cpu, wall)
        return round(100 * max(0.0, used) / spent, 1)


def sample(device: torch.device, cpu: CpuMeter) -> dict:
    """The fields of a DeviceSampled event (without run id and elapsed)."""
    runner = {"cpu_percent": cpu.percent(), "runner_memory": _resident_bytes()}
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        free, total = torch.cuda.mem_get_info(index)
        return {
            "device": f"cuda:{index}",
            "name": torch.cuda.get_device_name(index),
            "memory_used": total - free,
            "memory_total": total,
            "process_memory": torch.cuda.memory_allocated(index),
            **_nvml(index),
            **runner,
        }
    used, total = _linux_memory()
    return {"device": str(device), "name": "Apple GPU (mps)" if device.type == "mps" else "cpu",
            "memory_used": used, "memory_total": total, "process_memory": _resident_bytes(), **runner}
