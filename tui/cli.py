"""`mnist-tui`: the dashboard with no subcommand; `mnist-tui train ...` headless.

Thin on purpose: flags become strings for core.config's parser (so the CLI and the form refuse
the same values with the same words), the core trains, this module prints events. Nothing here
imports torch until a subcommand needs it, so the dashboard's first frame is not kept waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from core.config import FIELD_NAMES, ConfigError, RunConfig, check_resume_path, parse_config
from core.events import END_KINDS, format_line

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# flag -> (config field, help). Every RunConfig field but `resume` is spelled like the field.
_CONFIG_FLAGS = {
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
_SWITCHES = {"--tensorboard", "--compile"}  # flags without a value
# Every field is a flag, but `sweep`, which `mnist-tui sweep` sets itself.
assert {field for field, _ in _CONFIG_FLAGS.values()} == set(FIELD_NAMES) - {"sweep"}
_FLAG_FOR_FIELD = {field: flag for flag, (field, _) in _CONFIG_FLAGS.items()}


class UsageError(Exception):
    """Bad command-line input; printed as `mnist-tui: error: ...` with exit code 2."""


def _add_store_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--data-dir and --runs-dir, before or after the subcommand: a subcommand's parser must not
    reset them to None when they came before it (`mnist-tui --runs-dir R train`)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--data-dir", default=default, help="folder holding MNIST/raw (default: $MNIST_TUI_DATA, else ~/.cache/mnist-tui)")
    parser.add_argument("--runs-dir", default=default, help="where runs are recorded (default: $MNIST_TUI_RUNS, else ./runs)")


def _add_execution_flags(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--ray [ADDRESS] (and, for sweeps, --runs-per-device N): where and how densely runs train."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--ray", nargs="?", const="", default=default, metavar="ADDRESS",
                        help="run every run as a task on a Ray cluster: ADDRESS (host:port), else $RAY_ADDRESS, else auto "
                             "(the newest cluster started on this machine); needs the ray extra")
    if not top:
        parser.add_argument("--runs-per-device", default="1", metavar="N",
                            help="N runs share each device at once (local: N runner processes; Ray: 1/N of a GPU per run); default 1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnist-tui", description="Train and compare networks on MNIST in the terminal.")
    _add_store_flags(parser, top=True)
    _add_execution_flags(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser("train", help="train one configuration headless, printing the seed's lines")
    sweep = commands.add_parser(
        "sweep",
        help="train a grid: --lr, --batch-size, --optimizer, --model, --schedule and --seed take comma lists",
        description="Train every combination of the comma-separated values (a --seed list repeats the grid per seed), "
        "then print the comparison table, and with repeats mean ± std per configuration.",
    )
    for command in (train, sweep):
        for flag, (field, help_text) in _CONFIG_FLAGS.items():
            if flag in _SWITCHES:
                command.add_argument(flag, dest=field, action="store_const", const="on", help=help_text)
            else:
                command.add_argument(flag, dest=field, metavar=field.upper(), help=help_text)
        _add_store_flags(command)
        command.add_argument("--json", action="store_true", help="print one JSON object per event instead of text")
    sweep.add_argument("--devices", help="run in parallel, one run per device: all (every GPU) or a list, e.g. cuda:0,cuda:1")
    _add_execution_flags(sweep)
    reproduce = commands.add_parser(
        "reproduce",
        help="train the report's two sweeps and print its tables beside ours (mean ± std over seeds)",
        description="Train the report's learning-rate sweep (0.01, 0.001, 0.0001 at batch 64) and batch-size sweep "
        "(32, 64, 128 at lr 0.001): five configurations, once per seed; then print each of its tables with "
        "our mean ± std beside every cell and * where the report's value lies outside our range.",
    )
    reproduce.add_argument("--seeds", default="1,2,3", help="comma list of seeds; each configuration runs once per seed (default 1,2,3)")
    reproduce.add_argument("--epochs", default="5", help="epochs per run (default 5, as the report)")
    for flag in ("--train-size", "--test-size", "--device", "--model"):
        field, help_text = _CONFIG_FLAGS[flag]
        reproduce.add_argument(flag, dest=field, metavar=field.upper(), help=help_text + (" (to shorten it)" if "size" in flag else ""))
    reproduce.add_argument("--devices", help="run in parallel, one run per device: all (every GPU) or a list")
    reproduce.add_argument("--json", action="store_true", help="print one JSON object per event instead of text")
    _add_execution_flags(reproduce)
    _add_store_flags(reproduce)
    from tui.search_cli import add_search_parser

    add_search_parser(commands, _CONFIG_FLAGS, _SWITCHES, _add_store_flags, _add_execution_flags)
    runs = commands.add_parser("runs", help="list the stored runs")
    _add_store_flags(runs)
    lr_find = commands.add_parser(
        "lr-find",
        help="the learning-rate range test: a rate to train with, from the loss as the rate rises (not a run)",
        description="From the model's initial weights, raise the learning rate exponentially batch by batch and watch the "
        "smoothed training loss; suggest the rate where it falls fastest (Smith 2017; fastai's lr_find). Nothing is recorded.",
    )
    for flag in ("--model", "--dataset", "--batch-size", "--optimizer", "--momentum", "--weight-decay", "--seed", "--device", "--train-size"):
        field, help_text = _CONFIG_FLAGS[flag]
        lr_find.add_argument(flag, dest=field, metavar=field.upper(), help=help_text)
    lr_find.add_argument("--start-lr", default="1e-6", help="the first rate (default 1e-6)")
    lr_find.add_argument("--end-lr", default="1", help="the last rate (default 1)")
    lr_find.add_argument("--batches", default="100", help="batches from the first rate to the last (default 100)")
    _add_store_flags(lr_find)
    show = commands.add_parser("show", help="a stored run: config, accuracy per epoch, confusion matrix, misclassified digits")
    show.add_argument("run", metavar="RUN", help="run id (or a unique part of it), or the run's folder")
    show.add_argument("--epoch", type=int, help="the epoch to inspect (default: the last)")
    show.add_argument("--digits", type=int, default=4, help="how many misclassified digits to draw (default 4)")
    _add_store_flags(show)
    export = commands.add_parser("export", help="write every stored run's full record as CSV (a row per run)")
    export.add_argument("path", metavar="PATH", help="the CSV file to write, or - for standard output")
    export.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    export.add_argument("--groups", action="store_true", help="one row per configuration instead: mean, std and n over its seeds, per epoch")
    _add_store_flags(export)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    values = {field: getattr(args, field) for field in _FLAG_FOR_FIELD if getattr(args, field, None) is not None}
    try:
        config = parse_config(values)
        check_resume_path(config.resume)
        return config
    except ConfigError as bad:
        raise UsageError(f"{_FLAG_FOR_FIELD.get(bad.field, bad.field)}: {bad.message}") from None


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_on_encoding()
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {
        "train": train_command,
        "sweep": sweep_command,
        "reproduce": reproduce_command,
        "runs": runs_command,
        "export": export_command,
        "show": show_command,
        "lr-find": lr_find_command,
        "search": search_command,
        None: dashboard_command,
    }
    try:
        return commands[args.command](args)
    except UsageError as bad:
        print(f"mnist-tui: error: {bad}", file=sys.stderr)
        return EXIT_USAGE


def _same_width_marks(problem: UnicodeEncodeError) -> tuple[str, int]:
    """A character the stream cannot encode becomes as many `?` as the cells it takes (a CJK
    character two, a combining accent none), so printed tables stay aligned."""
    from rich.cells import cell_len

    return "?" * cell_len(problem.object[problem.start : problem.end]), problem.end  # the span whole: an emoji and its selector are 2 cells


def _never_fail_on_encoding() -> None:
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


def _as_typed(argument: str) -> str:
    """An argument as the terminal sent it: under a C locale Python reads UTF-8 bytes as escapes
    (`日本語` arrives as surrogates); they are decoded as UTF-8 again."""
    try:
        return os.fsencode(argument).decode("utf-8")
    except UnicodeError:
        return argument


def _stored_records(args: argparse.Namespace):
    from core.runstore.results import load_records
    from core.runstore.store import RunStore, StoreError, resolve_runs_dir

    store = RunStore(resolve_runs_dir(args.runs_dir))
    if not store.root.is_dir():
        raise UsageError(f"the runs folder {store.root} does not exist (choose one with --runs-dir or $MNIST_TUI_RUNS)")
    try:
        records, warnings = load_records(store)
    except StoreError as problem:  # the runs folder itself cannot be listed (a run that cannot be read is a warning)
        raise UsageError(str(problem)) from None
    for warning in warnings:
        print(f"mnist-tui: warning: {warning}", file=sys.stderr)
    return store, records


def runs_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from core.comparison.columns import STATUS_STYLE
    from tui.renderables import print_table

    store, records = _stored_records(args)
    if not records:
        print(f"no runs in {store.root}")
        return EXIT_OK
    table = Table(title=Text(f"runs in {store.root}"), title_justify="left")
    table.add_column("run", overflow="fold", ratio=2)  # its name (as typed: ids keep only ASCII), then its id
    table.add_column("config", ratio=2, overflow="fold")  # holds numbers: folded, never cut
    for title in ("epochs", "best %", "final %"):
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("status", ratio=1, overflow="fold")  # and why a run ended early
    percent = lambda value: "" if value is None else f"{value * 100:.2f}"
    for r in records:
        c = r.config
        config = f"{c.model} {c.optimizer} lr={c.lr:g} bs={c.batch_size} seed={c.seed}" + ("" if c.dataset == "mnist" else f" {c.dataset}")
        status = Text(r.status, style=STATUS_STYLE.get(r.status, "")) + Text(f": {r.reason}" if r.reason else "")
        run = Text(r.run_id, style="dim")
        if r.status == "unreadable":  # its configuration is unknown: no made-up defaults
            table.add_row(run, "", "", "", "", status)
            continue
        if c.name:
            run = Text.assemble((c.name, "bold"), "\n", run)  # the user's text: never markup
        table.add_row(run, Text(config), f"{r.last_epoch}/{r.start_epoch + c.epochs}", percent(r.best), percent(r.final), status)
    print_table(Console(), table)
    return EXIT_OK


def show_command(args: argparse.Namespace) -> int:
    from rich.columns import Columns
    from rich.console import Console
    from rich.text import Text

    from core.training.data import DataError
    from core.training.inspect import confusion_matrix, find_run, load_predictions, load_test_images, per_class_accuracy
    from core.runstore.results import RunRecord
    from core.runstore.store import RunStore, resolve_runs_dir
    from core.training.summary import summarize
    from tui.renderables import config_table, confusion_table, digit_card, epochs_table, print_table, summary_table

    console = Console()
    try:
        stored = find_run(RunStore(resolve_runs_dir(args.runs_dir)), _as_typed(args.run))
    except LookupError as missing:
        print(f"mnist-tui: error: {missing}", file=sys.stderr)
        return EXIT_FAILED
    for warning in stored.warnings:
        print(f"mnist-tui: warning: {stored.run_id}: {warning}", file=sys.stderr)
    record = RunRecord.from_stored(stored)
    if record.status == "unreadable":
        print(f"mnist-tui: error: {stored.run_id} is unreadable: {record.message}", file=sys.stderr)
        return EXIT_FAILED
    print_table(console, config_table(record))
    print_table(console, epochs_table(record))
    rows, total = summarize(record.config.model)
    print_table(console, summary_table(rows, total, record.config.model))
    predictions = load_predictions(stored.path)
    if not predictions:
        console.print("[yellow]no stored predictions (the run ended before its first test pass, or predates them)[/]")
        return EXIT_OK
    epoch = args.epoch if args.epoch is not None else max(predictions)
    if epoch not in predictions:
        print(f"mnist-tui: error: --epoch: this run has predictions for epochs {', '.join(map(str, predictions))}", file=sys.stderr)
        return EXIT_USAGE
    chosen = predictions[epoch]
    matrix = confusion_matrix(chosen)
    print_table(console, confusion_table(matrix, per_class_accuracy(matrix), epoch))
    wrong = chosen.wrong()
    console.print(f"{len(wrong)} of {len(chosen.labels):,} test digits misclassified after epoch {epoch}")
    if wrong and args.digits > 0:
        try:
            images = load_test_images(record.config.dataset, args.data_dir, len(chosen.labels))
        except DataError as problem:
            console.print(Text(f"digits not drawn: {problem}", style="yellow"))
            return EXIT_OK
        cards = [
            digit_card(images[i].tolist(), int(chosen.labels[i]), int(chosen.predicted[i]), float(chosen.confidence[i]), i)
            for i in wrong[: args.digits]
        ]
        console.print(Columns(cards, padding=(1, 2)))
    return EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    from core.comparison.export import ExportRefused, csv_text, export_target, write_csv

    if not args.path.strip():
        raise UsageError("PATH: give a file name, or - for standard output")
    if args.path != "-":
        try:
            export_target(args.path)  # before reading every run: a device or folder is refused at once
        except ExportRefused as refused:
            raise UsageError(f"PATH: {refused}") from None
    _, records = _stored_records(args)
    if args.path == "-":
        try:
            text = csv_text(records, groups=args.groups)
            if hasattr(sys.stdout, "buffer"):  # UTF-8 whatever the locale: the CSV keeps every name exactly
                sys.stdout.flush()
                sys.stdout.buffer.write(text.encode("utf-8"))
                sys.stdout.buffer.flush()
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
        except (AttributeError, OSError, ValueError) as problem:  # stdout closed (>&-), or a full device
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
            print(f"mnist-tui: error: cannot write to standard output: {getattr(problem, 'strerror', None) or problem}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK
    try:
        path = write_csv(args.path, records, overwrite=args.force, groups=args.groups)
    except FileExistsError:
        print(f"mnist-tui: error: {args.path} exists; add --force to overwrite it", file=sys.stderr)
        return EXIT_FAILED
    except OSError as problem:
        print(f"mnist-tui: error: cannot write {args.path}: {problem.strerror or problem}", file=sys.stderr)
        return EXIT_FAILED
    if args.groups:
        from core.comparison.groups import group_runs

        print(f"wrote {len(group_runs(records))} configuration(s) of {len(records)} run(s) to {path}")
    else:
        print(f"wrote {len(records)} run(s) to {path}")
    return EXIT_OK


def _positive(flag: str, text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{flag}: must be a {'whole ' if kind is int else ''}number, not {text!r}") from None
    if not value > 0 or (kind is float and not value < float("inf")):
        raise UsageError(f"{flag}: must be above 0, not {text!r}")
    return value


def lr_find_command(args: argparse.Namespace) -> int:
    start, end, batches = _positive("--start-lr", args.start_lr), _positive("--end-lr", args.end_lr), _positive("--batches", args.batches, int)
    if start >= end:
        raise UsageError(f"--start-lr: must be below --end-lr ({end:g}), not {start:g}")
    if not 2 <= batches <= 10_000:
        raise UsageError(f"--batches: must be from 2 to 10000, not {batches}")
    config = config_from_args(args)
    from core.training.data import DataError
    from core.training.lr_find import SUGGESTION_RULE, lr_range_test, suggest

    points = []
    try:
        for point in lr_range_test(config, start_lr=start, end_lr=end, batches=batches, data_dir=args.data_dir):
            points.append(point)
            if point.batch % 10 == 1:
                _print(f"lr {point.lr:.2e}: loss {point.loss:.3f}, smoothed {point.smoothed:.3f}")
    except (ConfigError, DataError) as bad:
        print(f"mnist-tui: error: {getattr(bad, 'message', bad)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    rate = suggest(points)
    if rate is None:
        _print(f"no suggestion: the loss diverged after {len(points)} batches; try a lower --end-lr or more --batches")
        return EXIT_FAILED
    stopped = f" (stopped at {points[-1].lr:.2e}: the smoothed loss passed 4x its minimum)" if len(points) < batches else ""
    _print(f"{len(points)} batches from {start:g} to {points[-1].lr:.3g}{stopped}")
    _print(f"suggested learning rate: {rate:.3g} ({SUGGESTION_RULE})")
    return EXIT_OK


def search_command(args: argparse.Namespace) -> int:
    from tui.search_cli import search_command as run_search

    return run_search(args)


def dashboard_command(args: argparse.Namespace) -> int:
    from tui.app import create_app

    app = create_app(runs_dir=args.runs_dir, data_dir=args.data_dir, handle_signals=True, ray_address=_ray_address(args))
    app.run()
    return app.return_code or EXIT_OK


def _print(line: str) -> None:
    try:
        print(line, flush=True)
    except (OSError, ValueError):  # the terminal went away (SSH dropped): keep training, keep recording
        pass


def _stop_signals():
    """SIGINT, SIGTERM and SIGHUP stop after the current batch (a second Ctrl+C aborts); SIGUSR1 is `x` in a dashboard."""
    from core.execution.runner import StopSignals

    return StopSignals(announce=lambda text: print(text, file=sys.stderr, flush=True))


def _exit_code(signals, ended: list[str]) -> int:
    if signals.received:
        return 128 + signals.received[0]
    if ended and all(kind == "run_finished" for kind in ended):
        return EXIT_OK
    return EXIT_FAILED if {"run_failed", "run_interrupted"} & set(ended) or not ended else EXIT_INTERRUPTED


def train_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    _, code = _train_all(args, [config], None, one_run=True)
    return code


def sweep_command(args: argparse.Namespace) -> int:
    from core.comparison.sweep import expand_grid, new_sweep_id

    values = {field: getattr(args, field) for field in _FLAG_FOR_FIELD if getattr(args, field, None) is not None}
    try:
        configs = expand_grid(values, new_sweep_id())
        check_resume_path(configs[0].resume)
    except ConfigError as bad:
        raise UsageError(f"{_FLAG_FOR_FIELD.get(bad.field, '--' + bad.field)}: {bad.message}") from None
    return _run_sweep(args, configs, args.devices)


def _runs_per_device(args: argparse.Namespace) -> int:
    from core.execution.executor import MAX_RUNS_PER_DEVICE

    text = str(getattr(args, "runs_per_device", "1")).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_RUNS_PER_DEVICE:
        raise UsageError(f"--runs-per-device: must be a whole number from 1 to {MAX_RUNS_PER_DEVICE}, not {text!r}")
    return int(text)


def _ray_address(args: argparse.Namespace) -> str | None:
    """None: local runners. Else the address to hand to ray.init ("auto" finds this machine's cluster)."""
    value = getattr(args, "ray", None)
    if value is None:
        return None
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise UsageError("--ray: Ray is not installed here; install the ray extra: pip install -e '.[ray]' in mnist-tui's checkout")
    return value.strip() or os.environ.get("RAY_ADDRESS", "").strip() or "auto"


def _check_devices(executor, configs: list[RunConfig], devices_flag: str | None) -> list[str] | None:
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
            print(f"mnist-tui: warning: {warning}", file=sys.stderr, flush=True)
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


def reproduce_command(args: argparse.Namespace) -> int:
    from core.comparison.report import MARK_NOTE, new_reproduce_id, reproduce_configs, report_tables
    from core.comparison.sweep import split_values

    values = {field: getattr(args, field) for field in ("train_size", "test_size", "device", "model") if getattr(args, field, None) is not None}
    epochs = int(_parse_flag("epochs", args.epochs))
    try:
        seeds = [int(seed) for seed in split_values("seed", args.seeds)]
        configs = reproduce_configs(seeds, values=values, epochs=epochs, sweep=new_reproduce_id())
    except ConfigError as bad:
        flag = "--seeds" if bad.field == "seed" else _FLAG_FOR_FIELD.get(bad.field, "--" + bad.field)
        raise UsageError(f"{flag}: {bad.message}") from None
    records, code = _train_all(args, configs, args.devices)
    if not args.json:
        for table in report_tables(records):
            _print_rows(table.title, table.header, table.rows, [MARK_NOTE] if table.marked else [])
        _print(f"{len(configs)} runs: 5 configurations x {len(seeds)} seed(s), sweep {configs[0].sweep}; "
               f"`mnist-tui export --groups FILE` writes the per-configuration figures")
        if failed := [r for r in records if r.status != "done"]:
            _print(f"{len(failed)} of {len(records)} runs did not finish (their cells are empty or short); first: {failed[0].status}: {failed[0].message}")
    return code


def _parse_flag(field: str, text: str):
    from core.config import parse_field

    try:
        return parse_field(field, text)
    except ConfigError as bad:
        raise UsageError(f"{_FLAG_FOR_FIELD[field]}: {bad.message}") from None


def _run_sweep(args: argparse.Namespace, configs: list[RunConfig], devices: str | None) -> int:
    from core.comparison.groups import has_repeats
    from core.comparison.sweep import best_run, comparison_table, group_table

    records, code = _train_all(args, configs, devices)
    if not args.json:
        _print_rows(f"sweep {configs[0].sweep}: test accuracy (%) after each epoch", *comparison_table(records))
        if has_repeats(records):
            _print_rows("per configuration: mean ± standard deviation over the seeds (points)", *group_table(records))
        best = best_run(records)
        if best is not None:
            _print(f"best: {best.label} at {best.best * 100:.2f}% (run {best.run_id})")
    return code


_TEXT_COLUMNS = ("status", "name", "opt", "model", "seeds")


def _print_rows(title: str, header: list[str], rows: list[list[str]], notes: list[str] = ()) -> None:
    """A table as the sweep prints it: numbers never cut (tui.renderables.print_table)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tui.renderables import print_table

    table = Table()
    for column in header:
        table.add_column(column, justify="left" if column in _TEXT_COLUMNS else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # names are the user's text: never markup
    _print(title)  # a line of its own: into a file it is never folded to the table's width
    print_table(Console(), table)
    for note in notes:
        _print(note)


def _train_all(args: argparse.Namespace, configs: list[RunConfig], devices_flag: str | None, one_run: bool = False):
    """Train every config through the executor (local runners, or Ray), printing each event as the
    run store receives it; (records, exit code). `one_run`: `train`'s plain lines, no sweep header."""
    from core.execution.executor import Executor
    from core.runstore.results import RunRecord
    from core.runstore.store import RunStore, resolve_runs_dir

    per_device = _runs_per_device(args)
    ray_address = None if one_run else _ray_address(args)
    store = RunStore(resolve_runs_dir(args.runs_dir))
    # The runners stay in our process group: Ctrl+C at the terminal reaches them as it reaches us.
    executor = Executor(store, args.data_dir, ray_address=ray_address, runs_per_device=per_device, warm=False, new_session=False)
    signals = _stop_signals()
    try:
        devices = _check_devices(executor, configs, devices_flag)
        queued = executor.submit(configs, devices)
        records = {run_id: RunRecord(run_id, config) for run_id, config in queued}
        positions = {run_id: n for n, run_id in enumerate(records, start=1)}
        ended: list[str] = []
        total = len(configs)
        if not one_run:
            cluster = executor.launcher.ready_message.get("ray", {}) if ray_address else {}
            where = f"the Ray cluster at {cluster.get('address', ray_address)}" if ray_address else ", ".join(devices or [configs[0].device])
            at_once = len(devices or [""]) * per_device
            _print(f"sweep {configs[0].sweep}: {total} runs on {where}" + (f" ({at_once} at a time)" if at_once > 1 and not ray_address else ""))

        def emit(event) -> None:
            record = records[event.run_id]
            record.apply(event)
            if event.kind in END_KINDS:
                ended.append(event.kind)
            if args.json:
                _print(json.dumps(event.to_dict()))
            elif (line := format_line(event)) is not None:
                _print(line if one_run else f"({positions[event.run_id]}/{total} {record.label}) {line}")

        signals.busy = True
        executor.drive(emit, signals.current)
    finally:
        signals.busy = False
        executor.close(wait_s=30)  # every run has ended: their runners exit now
    return list(records.values()), _exit_code(signals, ended)
