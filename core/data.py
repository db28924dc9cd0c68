"""Loading MNIST-format datasets into device tensors, and slicing batches from them.

torchvision's dataset classes read the IDX files; after that the whole split lives on the
training device as one float tensor (as in KellerJordan's airbench), and batches are index
slices of a per-epoch permutation made on the device: no DataLoader, no per-sample Python.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from torchvision import datasets as tv_datasets

DATA_ENV = "MNIST_TUI_DATA"
_CLASSES = {
    "mnist": tv_datasets.MNIST,
    "fashion-mnist": tv_datasets.FashionMNIST,
    "kmnist": tv_datasets.KMNIST,
}
_DOWNLOAD_TIMEOUT_S = 20


class DataError(RuntimeError):
    """The dataset could not be loaded; the message says where we looked and how to fix it."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # float32, N x 1 x 28 x 28, pixels in [0, 1] (what ToTensor gives)
    labels: torch.Tensor  # int64, N

    def __len__(self) -> int:
        return self.labels.shape[0]


def default_data_dir() -> Path:
    """The user cache folder: $XDG_CACHE_HOME/mnist-tui (else ~/.cache/mnist-tui)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mnist-tui"


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $MNIST_TUI_DATA, else the user cache folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else default_data_dir()


def _open(dataset: str, root: Path, train: bool):
    """The torchvision dataset; downloads only when the files are missing, and says so on failure."""
    cls = _CLASSES[dataset]
    raw = root / cls.__name__ / "raw"
    try:
        return cls(root=str(root), train=train, download=False)
    except RuntimeError as missing:
        if "not found" not in str(missing).lower():
            raise DataError(f"could not read {dataset} from {raw}: {missing}. {_copy_again(cls, raw)}") from missing
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT_S)
    try:
        return cls(root=str(root), train=train, download=True)
    except Exception as failure:  # network down, folder read-only, disk full, bad checksum...
        reason = " ".join(str(failure).split())[:400]
        raise DataError(
            f"{dataset} files are not in {raw}, and downloading them failed "
            f"(tried {', '.join(cls.mirrors)}: {type(failure).__name__}: {reason}). "
            f"To fix: on a machine without internet, copy the four files "
            f"(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            f"t10k-labels-idx1-ubyte, or their .gz) into {raw}, or point --data-dir / "
            f"${DATA_ENV} at the folder that holds {cls.__name__}/raw."
        ) from failure
    finally:
        socket.setdefaulttimeout(old_timeout)


def _copy_again(cls, raw: Path) -> str:
    return (
        f"To fix: delete the files in {raw} (the .gz too) and copy the originals there again from where you "
        f"got them (on a machine with internet, torchvision downloads them from {cls.mirrors[0]})"
    )


def load_split(dataset: str, root: Path, train: bool, device: torch.device, limit: int | None = None) -> Split:
    """One split as device tensors; `limit` keeps the first N samples (in the files' order)."""
    try:
        source = _open(dataset, root, train)
        images, labels = source.data, source.targets
    except DataError:
        raise
    except Exception as broken:  # truncated or corrupt IDX files
        raw = root / _CLASSES[dataset].__name__ / "raw"
        raise DataError(
            f"the {dataset} files in {raw} could not be read ({type(broken).__name__}: {str(broken)[:200]}); "
            f"they are truncated or corrupt. {_copy_again(_CLASSES[dataset], raw)}"
        ) from broken
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    # ToTensor's exact scaling: uint8 / 255 as float32, one channel.
    pixels = images.to(device).unsqueeze(1).float().div_(255)
    return Split(pixels, labels.to(device=device, dtype=torch.long))


def batch_indices(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[torch.Tensor]:
    """Index tensors covering 0..n-1 exactly once, in a fresh random order; the last may be short."""
    order = torch.randperm(n, generator=generator, device=device)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def batches_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)
