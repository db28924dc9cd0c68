"""Which devices this machine can train on, and turning a device choice into a torch.device."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.config import ConfigError


@dataclass(frozen=True)
class DeviceInfo:
    spec: str  # what the config's `device` field takes: "cuda:0", "mps", "cpu"
    name: str  # what the user reads: "NVIDIA H100 80GB HBM3"

    @property
    def label(self) -> str:
        return f"{self.spec} {self.name}" if self.name != self.spec else self.spec


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def available_devices() -> list[DeviceInfo]:
    """Every device a run can use, GPUs first (the order `auto` prefers)."""
    found = [
        DeviceInfo(f"cuda:{i}", torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())
    ]
    if _mps_available():
        found.append(DeviceInfo("mps", "Apple GPU (mps)"))
    found.append(DeviceInfo("cpu", "cpu"))
    return found


def resolve_device(spec: str) -> torch.device:
    """`auto` -> the best device present; an explicit choice must exist on this machine."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if spec.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError("device", f"{spec} was asked for but this machine has no CUDA GPU; use cpu or auto")
        index = int(spec.split(":")[1]) if ":" in spec else torch.cuda.current_device()
        if index >= count:
            raise ConfigError("device", f"{spec} does not exist: this machine has cuda:0..cuda:{count - 1}")
        return torch.device("cuda", index)
    if spec == "mps" and not _mps_available():
        raise ConfigError("device", "mps was asked for but is not available here; use cpu or auto")
    return torch.device(spec)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "Apple GPU (mps)" if device.type == "mps" else "cpu"
