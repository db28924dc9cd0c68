"""`mnist-tui runs`, `show` and `export`: the stored runs, read and never written (core.runstore): a
table of them all, one run in full (its configuration, accuracy per epoch, confusion matrix and
misclassified digits), or every run's record as CSV."""

from __future__ import annotations

import argparse
import os
import sys

from tui.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, as_typed, warn


def stored_records(args: argparse.Namespace):
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
        warn(warning)
    return store, records


def runs_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from core.comparison.columns import STATUS_STYLE
    from tui.renderables import print_table

    store, records = stored_records(args)
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
        stored = find_run(RunStore(resolve_runs_dir(args.runs_dir)), as_typed(args.run))
    except LookupError as missing:
        print(f"mnist-tui: error: {missing}", file=sys.stderr)
        return EXIT_FAILED
    for warning in stored.warnings:
        warn(f"{stored.run_id}: {warning}")
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
    _, records = stored_records(args)
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
