"""Training one configuration, as a generator of events (the core every front end drives).

`train` and `evaluate` are the explicit steps of pytorch/examples' mnist; `run_events` strings
them into a run and turns every failure into a `RunFailed` event instead of an exception, so
a front end only iterates. The hot loop keeps the loss on the device and reads it back once per
log window; `cancel` (a plain threading.Event) is checked between batches.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from core.training.checkpoint import CheckpointError, SaveError, check_weights_fit, load_checkpoint, load_optimizer_state, save_checkpoint
from core.training.inspect import save_predictions
from core.config import ConfigError, RunConfig
from core.training.data import DataError, Split, batch_indices, batches_per_epoch, load_split, resolve_data_dir
from core.training.devices import device_name, resolve_device
from core.training.device_stats import CpuMeter, sample as sample_device
from core.events import MAX_EPOCH, BatchLogged, CompileStatus, DeviceSampled, EpochEnded, Event, RunFailed, RunFinished, RunStarted, RunStopped
from core.training.models import build_model, parameter_count
from core.training.schedules import lr_at
from core.training.stop import StopRequest
from core.training.tensorboard import TensorBoardError, TensorBoardLog  # torch.utils.tensorboard: imported only when asked for

GPU_MEMORY_FRACTION_ENV = "MNIST_TUI_GPU_MEMORY_FRACTION"  # e.g. 0.5: this run may use half the GPU's memory
BEST_CHECKPOINT = "best.pt"  # beside checkpoint.pt: the weights of the best test accuracy so far
EVAL_BATCH = 1000  # test images per forward pass; evaluation order is the files' order
DEVICE_SAMPLE_S = 5.0  # the device's and the runner's figures (system charts): every few seconds, at the next log window, and at every epoch's end
_INIT_LOCK = threading.Lock()


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite: the run cannot recover."""


def make_optimizer(model: torch.nn.Module, config: RunConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


@torch.no_grad()
def predict(model: torch.nn.Module, split: Split) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    """Over the whole split, in order: accuracy 0..1, mean cross-entropy, predicted classes, confidences."""
    model.eval()
    loss_sum = torch.zeros((), device=split.labels.device)
    predicted, confidence = [], []
    for start in range(0, len(split), EVAL_BATCH):
        logits = model(split.images[start : start + EVAL_BATCH])
        loss_sum += F.cross_entropy(logits, split.labels[start : start + EVAL_BATCH], reduction="sum")
        top = logits.softmax(1).max(1)
        predicted.append(top.indices)
        confidence.append(top.values)
    model.train()
    predicted_all = torch.cat(predicted)
    correct = (predicted_all == split.labels).sum()
    return correct.item() / len(split), loss_sum.item() / len(split), predicted_all, torch.cat(confidence)


def evaluate(model: torch.nn.Module, split: Split) -> tuple[float, float]:
    """(accuracy 0..1, mean cross-entropy) over the whole split, in order."""
    accuracy, loss, _, _ = predict(model, split)
    return accuracy, loss


class TrainingRun:
    """One configuration's run. Iterate `events()`; set `cancel` to stop after the current batch."""

    def __init__(
        self,
        config: RunConfig,
        run_id: str,
        *,
        cancel: threading.Event | None = None,
        data_dir: str | Path | None = None,
        checkpoint_path: str | Path | None = None,
        run_dir: str | Path | None = None,
        schedule_origin: int | None = None,
    ) -> None:
        """`schedule_origin`: the epoch the learning-rate schedule started at, when this run goes on
        with another's schedule (a Ray run resumed after its node was lost); None: at this run's start."""
        self.config = config
        self.schedule_origin = schedule_origin
        self.run_id = run_id
        self.cancel = cancel or threading.Event()
        self.data_dir = resolve_data_dir(data_dir)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.run_dir = Path(run_dir) if run_dir else None  # predictions and TensorBoard files go here
        self.tensorboard = None
        self._t0 = time.perf_counter()
        self._t0_wall = time.time()  # RunStarted.started_at: an event's wall time is this + its elapsed
        self._sampled_at = float("-inf")
        self._cpu = CpuMeter()
        self.epoch = 0  # epochs completed, resumed ones included
        self.start_epoch = 0  # epochs the resumed checkpoint had trained
        self.last_accuracy: float | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def events(self) -> Iterator[Event]:
        try:
            yield from self._run()
        except Exception as error:  # every failure is a result the user can read, never a crash
            yield RunFailed(self.run_id, type(error).__name__, self._explain(error), round(self.elapsed(), 3), **self._known_setting())
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()
            if getattr(self, "device", None) is not None and self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _explain(self, error: Exception) -> str:
        if isinstance(error, SaveError):
            return f"{error}{self._results_kept()}"
        if isinstance(error, (ConfigError, DataError, CheckpointError, NonFiniteLoss, TensorBoardError)):
            return str(error)
        if isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower():
            return (
                f"out of memory on {getattr(self, 'device', 'the device')} at batch size "
                f"{self.config.batch_size}: where several runs share the GPU, lower --runs-per-device "
                f"(the form's runs/device); else try a smaller batch size, or close other jobs on that GPU"
            )
        return f"{type(error).__name__}: {error}"

    def _known_setting(self) -> dict[str, str]:
        """Where the run was to train, as far as it got: a run failing before run_started still says."""
        known = {"torch_version": torch.__version__}
        device = getattr(self, "device", None)
        if device is not None:
            known["device"] = str(device)
            try:
                known["device_name"] = device_name(device)
            except Exception:  # a CUDA that just failed may not answer: the report must not fail too
                pass
        return known

    def _results_kept(self) -> str:
        """Said when a save fails: what the run's log (written before any save) still holds."""
        if self.epoch <= self.start_epoch:
            return ""
        return f"; the results up to epoch {self.epoch} are in the run's log"

    def _setup(self) -> None:
        config = self.config
        self.device = resolve_device(config.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
        self.train_split = load_split(config.dataset, self.data_dir, True, self.device, config.train_size)
        self.test_split = load_split(config.dataset, self.data_dir, False, self.device, config.test_size)
        if config.batch_size > len(self.train_split):
            raise ConfigError("batch_size", f"is larger than the training set ({len(self.train_split):,} images)")
        # Seed the weights without disturbing the global RNG; the lock keeps parallel runs
        # (a sweep on several devices) from seeding each other's initialisation.
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = build_model(config.model)
        self.model.to(self.device).train()
        self.optimizer = make_optimizer(self.model, config)
        self.loss_fn = self._eager_loss  # torch.compile's version replaces it at the first batch (--compile)
        self.compile_pending, self.cuda_graphs = config.compile, False
        fraction = os.environ.get(GPU_MEMORY_FRACTION_ENV)
        if fraction and self.device.type == "cuda":  # a share of a GPU others use too (and the OOM test)
            torch.cuda.set_per_process_memory_fraction(float(fraction), self.device)
        on_gpu = self.device.type == "cuda"
        self.generator = torch.Generator(device=self.device if on_gpu else "cpu").manual_seed(config.seed)
        self.start_accuracy = None
        if config.resume:
            self._resume(load_checkpoint(config.resume))

    def _resume(self, checkpoint: dict) -> None:
        if checkpoint["model_name"] != self.config.model:
            raise CheckpointError(
                f"{self.config.resume} holds a {checkpoint['model_name']} network; this run trains a "
                f"{self.config.model}: choose model {checkpoint['model_name']} to resume it"
            )
        check_weights_fit(self.config.resume, checkpoint["state_dict"], self.model, self.config.model)
        self.model.load_state_dict(checkpoint["state_dict"])
        if checkpoint.get("optimizer_name") == self.config.optimizer:  # another optimizer starts its state afresh
            load_optimizer_state(self.config.resume, self.optimizer, checkpoint["optimizer_state"])
            for group in self.optimizer.param_groups:  # this run's settings win over the saved ones
                group["lr"], group["weight_decay"] = self.config.lr, self.config.weight_decay
                if "momentum" in group:
                    group["momentum"] = self.config.momentum
        self.epoch = self.start_epoch = checkpoint["epoch"]  # checked by load_checkpoint
        if self.start_epoch + self.config.epochs > MAX_EPOCH:
            raise CheckpointError(
                f"{self.config.resume} has trained {self.start_epoch} epochs; {self.config.epochs} more would pass "
                f"the limit of {MAX_EPOCH}: start a new run from it with fewer epochs"
            )
        self.start_accuracy, _ = evaluate(self.model, self.test_split)
        self.last_accuracy = self.start_accuracy

    def _stop_reason(self) -> str:
        return getattr(self.cancel, "reason", StopRequest.reason)

    def _kept_checkpoint(self) -> str | None:
        """The checkpoint of the last finished epoch, when there is one (nothing is written)."""
        path = self.checkpoint_path
        return str(path) if path is not None and path.exists() else None

    def _save(self, path: Path | None = None) -> str | None:
        """The latest weights (or `path`), atomically: a kill at any moment leaves the last whole file."""
        path = path or self.checkpoint_path
        if path is None:
            return None
        save_checkpoint(
            path,
            model=self.model,
            optimizer=self.optimizer,
            config=self.config.to_dict(),
            epoch=self.epoch,
            accuracy=self.last_accuracy,
        )
        return str(path)

    def _save_epoch(self, epoch: int, predicted: torch.Tensor, confidence: torch.Tensor, best: float) -> None:
        """The epoch's files: its predictions, the checkpoint and, for a new best accuracy, best.pt.

        Saved after every epoch, so a kill (OOM killer, power cut) loses at most the epoch under way.
        """
        if self.run_dir is not None:
            save_predictions(self.run_dir, epoch, self.test_split.labels, predicted, confidence)
        self._save()
        if self.checkpoint_path is not None and self.last_accuracy > best:
            self._save(self.checkpoint_path.with_name(BEST_CHECKPOINT))

    def _run(self) -> Iterator[Event]:
        self._setup()
        config = self.config
        per_epoch = batches_per_epoch(len(self.train_split), config.batch_size)
        yield RunStarted(
            self.run_id,
            config=config.to_dict(),
            device=str(self.device),
            device_name=device_name(self.device),
            parameters=parameter_count(self.model),
            train_size=len(self.train_split),
            test_size=len(self.test_split),
            batches_per_epoch=per_epoch,
            started_at=self._t0_wall,
            start_epoch=self.epoch,
            start_accuracy=self.start_accuracy,
            torch_version=torch.__version__,
        )
        # Optional parts after the run's facts are logged: a broken one fails a run that says what it was.
        if config.tensorboard and self.run_dir is not None:
            self.tensorboard = TensorBoardLog(self.run_dir / "tensorboard", self.model, self.train_split.images[:1])
        yield self._device_sample()
        best = self.start_accuracy or 0.0
        for epoch in range(self.epoch + 1, self.epoch + config.epochs + 1):
            epoch_t0 = time.perf_counter()
            train_loss = yield from self.train(epoch)
            if train_loss is None:  # cancelled mid-epoch
                # Pruned: the search judged a whole epoch; the last one's checkpoint stays (not this epoch's part).
                pruned_after = self.epoch if getattr(self.cancel, "pruned_after", None) and self.epoch > self.start_epoch else None
                saved = self._kept_checkpoint() if pruned_after else self._save()
                yield RunStopped(self.run_id, epoch, self._last_batch, round(self.elapsed(), 3), saved, self._stop_reason(), pruned_after)
                return
            self.epoch = epoch
            self.last_accuracy, test_loss, predicted, confidence = predict(self.model, self.test_split)
            # Logged before anything big is saved: a save the disk refuses (a quota, a file size
            # limit) fails the run, but the epoch's result is already in its log.
            yield EpochEnded(
                self.run_id,
                epoch=epoch,
                accuracy=self.last_accuracy,
                test_loss=test_loss,
                train_loss=train_loss,
                seconds=round(time.perf_counter() - epoch_t0, 3),
                elapsed=round(self.elapsed(), 3),
            )
            yield self._device_sample()  # at every epoch's end too: a short run's system charts reach its end
            if self.tensorboard is not None:
                self.tensorboard.epoch(epoch, self.last_accuracy, test_loss, train_loss)
            self._save_epoch(epoch, predicted, confidence, best)
            best = max(best, self.last_accuracy)
            if self.cancel.is_set():
                saved = str(self.checkpoint_path) if self.checkpoint_path else None  # written after this epoch
                pruned_after = epoch if getattr(self.cancel, "pruned_after", None) else None
                yield RunStopped(self.run_id, epoch, per_epoch, round(self.elapsed(), 3), saved, self._stop_reason(), pruned_after)
                return
        saved = str(self.checkpoint_path) if self.checkpoint_path else None  # written after the last epoch
        yield RunFinished(self.run_id, self.last_accuracy, best, round(self.elapsed(), 3), saved)

    def train(self, epoch: int) -> Iterator[BatchLogged]:
        """One epoch; yields a BatchLogged every log window; returns the mean loss, None if cancelled."""
        optimizer, split, config = self.optimizer, self.train_split, self.config
        device = self.device
        window_loss = torch.zeros((), device=device)
        epoch_loss = torch.zeros((), device=device)
        window_batches = window_samples = 0
        window_t0 = time.perf_counter()
        per_epoch = batches_per_epoch(len(split), config.batch_size)
        steps_before = (epoch - 1) * per_epoch
        # The schedule spans this run's own epochs (a resumed run starts its schedule afresh), or
        # goes on from schedule_origin (a run continued after a lost node: as if never interrupted).
        origin = self.start_epoch if self.schedule_origin is None else self.schedule_origin
        schedule_step0 = (epoch - 1 - origin) * per_epoch
        schedule_total = (self.start_epoch - origin + config.epochs) * per_epoch
        self._last_batch = 0
        for batch, index in enumerate(batch_indices(len(split), config.batch_size, self.generator, device), start=1):
            if self.cancel.is_set():
                return None
            if config.schedule != "constant":
                lr = lr_at(config.schedule, config.lr, schedule_step0 + batch - 1, schedule_total)
                for group in optimizer.param_groups:
                    group["lr"] = lr
            index = index.to(device, non_blocking=True)
            if self.compile_pending:
                loss = yield from self._first_compiled_step(split.images[index], split.labels[index])
                window_t0 = time.perf_counter()  # the window's speed is training's, not the compiler's
            else:
                loss = self._step(split.images[index], split.labels[index])
            window_loss += loss
            epoch_loss += loss
            window_batches += 1
            window_samples += index.numel()
            self._last_batch = batch
            if batch % config.log_every == 0:
                mean = window_loss.item() / window_batches  # the one device sync per window
                self._check_finite(mean, epoch, batch)
                if self.tensorboard is not None:
                    self.tensorboard.loss(steps_before + batch, mean, optimizer.param_groups[0]["lr"])
                now = time.perf_counter()
                yield BatchLogged(
                    self.run_id,
                    epoch=epoch,
                    batch=batch,
                    step=steps_before + batch,
                    loss=mean,
                    samples_per_sec=round(window_samples / max(now - window_t0, 1e-9), 1),
                    elapsed=round(self.elapsed(), 3),
                    lr=optimizer.param_groups[0]["lr"],
                )
                window_loss.zero_()
                window_batches = window_samples = 0
                window_t0 = now
                if now - self._sampled_at >= DEVICE_SAMPLE_S:
                    yield self._device_sample()
        mean_epoch = epoch_loss.item() / self._last_batch
        self._check_finite(mean_epoch, epoch, self._last_batch)
        return mean_epoch

    def _eager_loss(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.model(images), labels)

    def _step(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One optimisation step; the loss stays on the device."""
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # a new iteration: CUDA graph outputs may be reused
        loss = self.loss_fn(images, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _first_compiled_step(self, images: torch.Tensor, labels: torch.Tensor) -> Iterator[Event]:
        """Compile the forward and backward pass (a one-time cost, reported), falling back to eager if
        that fails. On CUDA, mode reduce-overhead replays CUDA graphs: at batch 64 a GPU otherwise waits
        on Python to launch ~100 small kernels a step. (The CUDA branch has not run on a GPU yet.)"""
        self.compile_pending = False
        mode = "reduce-overhead" if self.device.type == "cuda" else "default"
        yield CompileStatus(self.run_id, "compiling", 0.0, f"torch.compile, mode {mode}")
        t0 = time.perf_counter()
        try:
            self.loss_fn = torch.compile(self._eager_loss, mode=mode)
            self.cuda_graphs = self.device.type == "cuda"
            loss = self._step(images, labels)
            loss.item()  # wait for it: the compile and the first step are done
        except Exception as problem:  # no compiler, an unsupported op...: train all the same
            self.loss_fn, self.cuda_graphs = self._eager_loss, False
            reason = " ".join(f"{type(problem).__name__}: {problem}".split())[:300]
            print(f"mnist-tui: warning: torch.compile failed ({reason}); training eager instead", file=sys.stderr, flush=True)
            yield CompileStatus(self.run_id, "failed", round(time.perf_counter() - t0, 3), reason)
            return self._step(images, labels)
        yield CompileStatus(self.run_id, "compiled", round(time.perf_counter() - t0, 3), f"mode {mode}")
        return loss

    def _device_sample(self) -> DeviceSampled:
        self._sampled_at = time.perf_counter()
        return DeviceSampled(self.run_id, **sample_device(self.device, self._cpu), elapsed=round(self.elapsed(), 3))

    def _check_finite(self, value: float, epoch: int, batch: int) -> None:
        if value != value or value in (float("inf"), float("-inf")):
            what = "NaN" if value != value else "infinite"
            raise NonFiniteLoss(
                f"loss became {what} at epoch {epoch}, batch {batch}: try a lower learning rate "
                f"(this run used {self.config.lr:g})"
            )


def run_events(config: RunConfig, run_id: str, **kwargs) -> Iterator[Event]:
    """Shorthand: the events of one run (see TrainingRun for the keyword arguments)."""
    return TrainingRun(config, run_id, **kwargs).events()


def start_in_thread(events: Iterator[Event], emit: Callable[[Event], None], name: str = "mnist-tui-train") -> threading.Thread:
    """Drive an event generator in a daemon thread, handing each event to `emit` (which must be thread-safe)."""

    def drive() -> None:
        for event in events:
            emit(event)

    thread = threading.Thread(target=drive, name=name, daemon=True)
    thread.start()
    return thread
