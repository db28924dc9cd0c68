"""What every `mnist-tui` command shares: exit codes, UsageError, the flag table (one flag per
RunConfig field), printing that survives a dropped terminal, the encoding workarounds, and the
device and Ray checks. It imports nothing from the other tui.cli modules: they all import it."""

from __future__ import annotations

import argparse
import os
import sys

from core.config import FIELD_NAMES, ConfigError, RunConfig, check_resume_path, parse_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# flag -> (config field, help). Every RunConfig field but `resume` is spelled like the field.
CONFIG_FLAGS = {
    "--model": ("model", "cnn (the seed's network) or mlp"),
    "--dataset": ("dataset", "mnist, fashion-mnist or kmnist"),
    "--lr": ("lr", "learning rate (default 0.001)"),
    "--batch-size": ("batch_size", "training batch size (default 64)"),
    "--epochs": ("epochs", "passes over the training set (default 5)"),
    "--momentum": ("momentum", "SGD momentum (default 0.9)"),
    "--optimizer": ("optimizer", "sgd or adam (default sgd)"),
    "--weight-decay": ("weight_decay", "L2 penalty (default 0)"),
    "--seed": ("seed", "random seed for weights and shuffling (default 1)"),
    "--device": ("device", "auto, cpu, cuda, cuda:N or mps (default auto)"),
    "--log-every": ("log_every", "batches between loss lines (default 100)"),
    "--train-size": ("train_size", "train on the first N images only"),
    "--test-size": ("test_size", "test on the first N images only"),
    "--name": ("name", "a label for the run"),
    "--resume": ("resume", "start from this checkpoint's weights"),
    "--schedule": ("schedule", "learning-rate schedule: constant, step, cosine or onecycle"),
    "--tensorboard": ("tensorboard", "also write TensorBoard event files into the run's folder (needs the tensorboard extra)"),
    "--compile": ("compile", "train through torch.compile (on CUDA with CUDA graphs); eager again, with a warning, if it fails"),
}
SWITCHES = {"--tensorboard", "--compile"}  # flags without a value
# Every field is a flag, but `sweep`, which `mnist-tui sweep` sets itself.
assert {field for field, _ in CONFIG_FLAGS.values()} == set(FIELD_NAMES) - {"sweep"}
FLAG_FOR_FIELD = {field: flag for flag, (field, _) in CONFIG_FLAGS.items()}


class UsageError(Exception):
    """Bad command-line input; printed as `mnist-tui: error: ...` with exit code 2."""


def flag_error(bad: ConfigError) -> UsageError:
    """A configuration's error as the command line says it: naming the flag, not the field."""
    return UsageError(f"{FLAG_FOR_FIELD.get(bad.field, '--' + bad.field)}: {bad.message}")


def add_store_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--data-dir and --runs-dir, before or after the subcommand: a subcommand's parser must not
    reset them to None when they came before it (`mnist-tui --runs-dir R train`)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--data-dir", default=default, help="folder holding MNIST/raw (default: $MNIST_TUI_DATA, else ~/.cache/mnist-tui)")
    parser.add_argument("--runs-dir", default=default, help="where runs are recorded (default: $MNIST_TUI_RUNS, else ./runs)")


def add_execution_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--ray [ADDRESS] (and, for sweeps, --runs-per-device N): where and how densely runs train."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--ray", nargs="?", const="", default=default, metavar="ADDRESS",
                        help="run every run as a task on a Ray cluster: ADDRESS (host:port), else $RAY_ADDRESS, else auto "
                             "(the newest cluster started on this machine); needs the ray extra")
    if not top:
        parser.add_argument("--runs-per-device", default="1", metavar="N",
                            help="N runs share each device at once (local: N runner processes; Ray: 1/N of a GPU per run); default 1")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object per event instead of text")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A flag per configuration field (train, sweep and search take them all)."""
    for flag, (field, help_text) in CONFIG_FLAGS.items():
        if flag in SWITCHES:
            parser.add_argument(flag, dest=field, action="store_const", const="on", help=help_text)
        else:
            parser.add_argument(flag, dest=field, metavar=field.upper(), help=help_text)


def config_values(args: argparse.Namespace) -> dict[str, str]:
    """The configuration fields given as flags, as typed (field -> text)."""
    return {field: getattr(args, field) for field in FLAG_FOR_FIELD if getattr(args, field, None) is not None}


def config_from_args(args: argparse.Namespace) -> RunConfig:
    try:
        config = parse_config(config_values(args))
        check_resume_path(config.resume)
        return config
    except ConfigError as bad:
        raise flag_error(bad) from None


def whole_number(flag: str, text: str, low: int, high: int) -> int:
    """A flag's whole number from `low` to `high`; UsageError naming the flag otherwise."""
    text = str(text).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{flag}: must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def print_line(line: str) -> None:
    try:
        print(line, flush=True)
    except (OSError, ValueError):  # the terminal went away (SSH dropped): keep training, keep recording
        pass


def warn(message: str) -> None:
    print(f"mnist-tui: warning: {message}", file=sys.stderr, flush=True)


def _same_width_marks(problem: UnicodeEncodeError) -> tuple[str, int]:
    """A character the stream cannot encode becomes as many `?` as the cells it takes (a CJK
    character two, a combining accent none), so printed tables stay aligned."""
    from rich.cells import cell_len

    return "?" * cell_len(problem.object[problem.start : problem.end]), problem.end  # the span whole: an emoji and its selector are 2 cells


def never_fail_on_encoding() -> None:
    """A terminal or pipe whose encoding cannot show a character (PYTHONIOENCODING=ascii, an old
    locale) gets `?` in its place: printing a name never raises UnicodeEncodeError."""
    import codecs

    codecs.register_error("mnist-tui-cells", _same_width_marks)
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) in ("strict", "surrogateescape") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="mnist-tui-cells")
            except (ValueError, OSError, LookupError):  # a stream that cannot change now: leave it
                pass


def as_typed(argument: str) -> str:
    """An argument as the terminal sent it: under a C locale Python reads UTF-8 bytes as escapes
    (`日本語` arrives as surrogates); they are decoded as UTF-8 again."""
    try:
        return os.fsencode(argument).decode("utf-8")
    except UnicodeError:
        return argument


def stop_signals():
    """SIGINT, SIGTERM and SIGHUP stop after the current batch (a second Ctrl+C aborts); SIGUSR1 is `x` in a dashboard."""
    from core.execution.runner import StopSignals

    return StopSignals(announce=lambda text: print(text, file=sys.stderr, flush=True))


def ray_address(args: argparse.Namespace) -> str | None:
    """None: local runners. Else the address to hand to ray.init ("auto" finds this machine's cluster)."""
    value = getattr(args, "ray", None)
    if value is None:
        return None
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise UsageError("--ray: Ray is not installed here; install the ray extra: pip install -e '.[ray]' in mnist-tui's checkout")
    return value.strip() or os.environ.get("RAY_ADDRESS", "").strip() or "auto"


def check_devices(executor, configs: list[RunConfig], devices_flag: str | None) -> list[str] | None:
    """The devices the runs may use, checked against what the first runner sees (it trains next: no extra import)."""
    from core.comparison.sweep import parse_devices
    from core.execution.device_check import check_device

    try:
        available = [spec for _, spec in executor.devices()]
    except RuntimeError as problem:
        raise UsageError(f"{'--ray: ' if executor.ray_address else 'cannot start training: '}{problem}") from None
    if executor.ray_address:
        from core.execution.ray_connect import token_warning

        if warning := token_warning(executor.launcher.ready_message.get("ray", {})):
            warn(warning)
        if devices_flag:
            raise UsageError("--devices: not with --ray: Ray places every run on a node with room (--runs-per-device packs GPUs)")
        for device in sorted({c.device.split(":")[0] for c in configs}):
            try:
                check_device(device, available)
            except ConfigError as bad:
                raise UsageError(f"--device: {bad.message.replace('this machine', 'the Ray cluster')}") from None
        return None
    try:
        devices = parse_devices(devices_flag, available) if devices_flag else None
    except ConfigError as bad:
        raise UsageError(f"--devices: {bad.message}") from None
    for device in devices or sorted({c.device for c in configs}):
        try:
            check_device(device, available)
        except ConfigError as bad:
            raise UsageError(f"{'--devices' if devices else '--device'}: {bad.message}") from None
    return devices
