"""Optional TensorBoard logging (pip install 'mnist-tui[tensorboard]'): the seed's scalars and graph."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch


class TensorBoardLog:
    def __init__(self, folder: Path, model: torch.nn.Module, sample: torch.Tensor) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as missing:
            raise RuntimeError(
                "TensorBoard logging was asked for but the tensorboard package is not installed: "
                "pip install 'mnist-tui[tensorboard]' (or turn the option off)"
            ) from missing
        self.writer = SummaryWriter(log_dir=str(folder))
        try:
            with warnings.catch_warnings():  # add_graph traces with torch.jit, which warns it is deprecated
                warnings.simplefilter("ignore", FutureWarning)
                self.writer.add_graph(model, sample)
        except Exception:  # the graph is a nicety; scalars matter more
            pass
        model.train()

    def loss(self, step: int, loss: float, lr: float) -> None:
        self.writer.add_scalar("train/loss", loss, step)
        self.writer.add_scalar("train/lr", lr, step)

    def epoch(self, epoch: int, accuracy: float, test_loss: float, train_loss: float) -> None:
        self.writer.add_scalar("test/accuracy", accuracy, epoch)
        self.writer.add_scalar("test/loss", test_loss, epoch)
        self.writer.add_scalar("train/epoch_loss", train_loss, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
