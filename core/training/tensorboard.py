"""Optional TensorBoard logging (pip install 'mnist-tui[tensorboard]'): the seed's scalars and graph."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch


TURN_IT_OFF = "or turn TensorBoard off (no --tensorboard; the form's tensorboard: off)"


class TensorBoardError(RuntimeError):
    """TensorBoard was asked for but cannot be used; the message names the fix."""


def _summary_writer_class():
    """torch's SummaryWriter, or a one-line TensorBoardError saying how to fix what is wrong."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as missing:
        raise TensorBoardError(
            "TensorBoard logging was asked for but the tensorboard package is not installed: "
            f"pip install tensorboard, {TURN_IT_OFF}"
        ) from missing
    except Exception as broken:  # installed but broken: a numpy or protobuf it was not built for, a half upgrade
        reason = " ".join(f"{type(broken).__name__}: {broken}".split())[:200]
        raise TensorBoardError(
            f"TensorBoard logging was asked for but the installed tensorboard fails to import ({reason}): "
            f"pip install --force-reinstall tensorboard, {TURN_IT_OFF}"
        ) from broken
    return SummaryWriter


class TensorBoardLog:
    def __init__(self, folder: Path, model: torch.nn.Module, sample: torch.Tensor) -> None:
        self.writer = _summary_writer_class()(log_dir=str(folder))
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
