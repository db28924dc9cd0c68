"""`mnist-tui train`, `sweep` and `reproduce`: runs trained headless through the executor (local
runners, or a Ray cluster), each event printed as the run store receives it; a sweep and the
report's reproduction end with their comparison tables. Ctrl+C stops after the current batch."""

from __future__ import annotations

import argparse
import json

from core.config import ConfigError, RunConfig, check_resume_path
from core.events import END_KINDS, format_line
from tui.cli.common import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, FLAG_FOR_FIELD, UsageError, check_devices, config_from_args,
                            config_values, flag_error, print_line, ray_address, stop_signals, whole_number)


def train_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    _, code = _train_all(args, [config], None, one_run=True)
    return code


def sweep_command(args: argparse.Namespace) -> int:
    from core.comparison.sweep import expand_grid, new_sweep_id

    values = config_values(args)
    try:
        configs = expand_grid(values, new_sweep_id())
        check_resume_path(configs[0].resume)
    except ConfigError as bad:
        raise flag_error(bad) from None
    return _run_sweep(args, configs, args.devices)


def reproduce_command(args: argparse.Namespace) -> int:
    from core.comparison.report import MARK_NOTE, new_reproduce_id, reproduce_configs, report_tables
    from core.comparison.sweep import split_values

    values = {field: getattr(args, field) for field in ("train_size", "test_size", "device", "model") if getattr(args, field, None) is not None}
    epochs = int(_parse_flag("epochs", args.epochs))
    try:
        seeds = [int(seed) for seed in split_values("seed", args.seeds)]
        configs = reproduce_configs(seeds, values=values, epochs=epochs, sweep=new_reproduce_id())
    except ConfigError as bad:
        flag = "--seeds" if bad.field == "seed" else FLAG_FOR_FIELD.get(bad.field, "--" + bad.field)
        raise UsageError(f"{flag}: {bad.message}") from None
    records, code = _train_all(args, configs, args.devices)
    if not args.json:
        for table in report_tables(records):
            _print_rows(table.title, table.header, table.rows, [MARK_NOTE] if table.marked else [])
        print_line(f"{len(configs)} runs: 5 configurations x {len(seeds)} seed(s), sweep {configs[0].sweep}; "
               f"`mnist-tui export --groups FILE` writes the per-configuration figures")
        if failed := [r for r in records if r.status != "done"]:
            print_line(f"{len(failed)} of {len(records)} runs did not finish (their cells are empty or short); first: {failed[0].status}: {failed[0].message}")
    return code


def _parse_flag(field: str, text: str):
    from core.config import parse_field

    try:
        return parse_field(field, text)
    except ConfigError as bad:
        raise UsageError(f"{FLAG_FOR_FIELD[field]}: {bad.message}") from None


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
            print_line(f"best: {best.label} at {best.best * 100:.2f}% (run {best.run_id})")
    return code


def _train_all(args: argparse.Namespace, configs: list[RunConfig], devices_flag: str | None, one_run: bool = False):
    """Train every config through the executor (local runners, or Ray), printing each event as the
    run store receives it; (records, exit code). `one_run`: `train`'s plain lines, no sweep header."""
    from core.execution.executor import Executor
    from core.runstore.results import RunRecord
    from core.runstore.store import RunStore, resolve_runs_dir

    per_device = _runs_per_device(args)
    address = None if one_run else ray_address(args)
    store = RunStore(resolve_runs_dir(args.runs_dir))
    # The runners stay in our process group: Ctrl+C at the terminal reaches them as it reaches us.
    executor = Executor(store, args.data_dir, ray_address=address, runs_per_device=per_device, warm=False, new_session=False)
    signals = stop_signals()
    try:
        devices = check_devices(executor, configs, devices_flag)
        queued = executor.submit(configs, devices)
        records = {run_id: RunRecord(run_id, config) for run_id, config in queued}
        positions = {run_id: n for n, run_id in enumerate(records, start=1)}
        ended: list[str] = []
        total = len(configs)
        if not one_run:
            cluster = executor.launcher.ready_message.get("ray", {}) if address else {}
            where = f"the Ray cluster at {cluster.get('address', address)}" if address else ", ".join(devices or [configs[0].device])
            at_once = len(devices or [""]) * per_device
            print_line(f"sweep {configs[0].sweep}: {total} runs on {where}" + (f" ({at_once} at a time)" if at_once > 1 and not address else ""))

        def emit(event) -> None:
            record = records[event.run_id]
            record.apply(event)
            if event.kind in END_KINDS:
                ended.append(event.kind)
            if args.json:
                print_line(json.dumps(event.to_dict()))
            elif (line := format_line(event)) is not None:
                print_line(line if one_run else f"({positions[event.run_id]}/{total} {record.label}) {line}")

        signals.busy = True
        executor.drive(emit, signals.current)
    finally:
        signals.busy = False
        executor.close(wait_s=30)  # every run has ended: their runners exit now
    return list(records.values()), _exit_code(signals, ended)


def _exit_code(signals, ended: list[str]) -> int:
    if signals.received:
        return 128 + signals.received[0]
    if ended and all(kind == "run_finished" for kind in ended):
        return EXIT_OK
    return EXIT_FAILED if {"run_failed", "run_interrupted"} & set(ended) or not ended else EXIT_INTERRUPTED


def _runs_per_device(args: argparse.Namespace) -> int:
    from core.execution.executor import MAX_RUNS_PER_DEVICE

    return whole_number("--runs-per-device", getattr(args, "runs_per_device", "1"), 1, MAX_RUNS_PER_DEVICE)


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
    print_line(title)  # a line of its own: into a file it is never folded to the table's width
    print_table(Console(), table)
    for note in notes:
        print_line(note)
