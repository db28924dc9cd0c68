"""The device panel: what the run trains on, GPU memory, and (with nvidia-ml-py) utilisation,
temperature and power. Reads torch only if it is already loaded, so it never stalls the UI."""

from __future__ import annotations

import sys

from rich.table import Table

from core.results import RunRecord


def _nvml(index: int) -> dict[str, str]:
    try:
        import pynvml  # nvidia-ml-py, optional
    except ImportError:
        return {"utilisation": "install nvidia-ml-py for utilisation, temperature and power"}
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
        temperature = pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)
        power = pynvml.nvmlDeviceGetPowerUsage(handle) / 1000
        return {"utilisation": f"{rates.gpu}% (memory {rates.memory}%)", "temperature": f"{temperature} °C", "power": f"{power:.0f} W"}
    except Exception as problem:  # no driver, no permission: say so, do not fail the panel
        return {"utilisation": f"nvml unavailable ({problem})"}


def device_report(record: RunRecord, current: RunRecord | None) -> Table:
    table = Table(title="device", title_justify="left", show_header=False, box=None)
    table.add_column(style="dim")
    table.add_column()
    device = record.device or record.config.device
    table.add_row("this run", f"{device} ({record.device_name})" if record.device_name else device)
    torch = sys.modules.get("torch")
    if torch is None:
        table.add_row("torch", "loading…")
    elif device.startswith("cuda") and torch.cuda.is_available():
        index = int(device.split(":")[1]) if ":" in device else 0
        free, total = torch.cuda.mem_get_info(index)
        table.add_row("name", torch.cuda.get_device_name(index))
        table.add_row("memory", f"{(total - free) / 2**30:.1f} GiB in use of {total / 2**30:.1f} GiB")
        table.add_row("this process", f"{torch.cuda.memory_allocated(index) / 2**20:.0f} MiB allocated by torch")
        for key, value in _nvml(index).items():
            table.add_row(key, value)
    else:
        table.add_row("threads", f"{torch.get_num_threads()} CPU threads for torch")
    if current is not None and current.last_batch is not None:
        table.add_row("training now", f"{current.label}: {current.last_batch.samples_per_sec:,.0f} samples/s on {current.device}")
    else:
        table.add_row("training now", "nothing")
    return table
