"""`mnist-tui search`: an Optuna search on the executor (core.search), printed as it goes and summed up
at its end: every trial, the best one and how to train it again, the parameters' importances, and
two charts (the objective per trial with the best so far; the learning rate against accuracy)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

from core.config import ConfigError
from core.events import format_line

DEFAULT_TRIALS = 20
MAX_PARALLEL = 64
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def add_search_parser(commands, config_flags: dict, switches: set, add_store_flags, add_execution_flags) -> None:
    search = commands.add_parser(
        "search",
        help="an Optuna search: ranges (--lr 1e-4:1e-1:log) and lists (--batch-size 32,64,128); bad trials pruned",
        description="Sample configurations with Optuna (TPE by default) from ranges (low:high, low:high:log) and comma "
        "lists; each trial is a run in the runs folder (its sweep is the study); after every epoch a pruner (the median "
        "rule by default) stops trials that fall behind. The study lives in RUNS/.studies: --study NAME continues it.",
    )
    for flag, (field, help_text) in config_flags.items():
        if flag in switches:
            search.add_argument(flag, dest=field, action="store_const", const="on", help=help_text)
        else:
            search.add_argument(flag, dest=field, metavar=field.upper(), help=help_text)
    search.add_argument("--trials", help=f"trials that count (completed, pruned or failed; default {DEFAULT_TRIALS}, or a continued study's)")
    search.add_argument("--timeout", help="start no trial after this long: seconds, or 30m, 2h (running trials finish)")
    search.add_argument("--parallel", default="1", help="trials training at once (device slots, local or --ray; default 1)")
    # No defaults here: a continued study keeps its own, and a flag that differs from them is refused.
    search.add_argument("--pruner", help="median (default), halving (successive halving), hyperband or none")
    search.add_argument("--pruner-startup", help="completed trials before the median pruner prunes (default 5, Optuna's)")
    search.add_argument("--sampler", help="tpe (default, Optuna's TPESampler) or random; --seed seeds it")
    search.add_argument("--study", help="the study's name: a new one, or one to continue (its ranges are kept)")
    search.add_argument("--devices", help="spread the parallel trials over these devices: all (every GPU) or a list")
    search.add_argument("--json", action="store_true", help="print one JSON object per event instead of text")
    add_execution_flags(search, top=True)
    add_store_flags(search)


def _whole(flag: str, text: str, low: int, high: int) -> int:
    from tui.cli import UsageError

    text = str(text).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{flag}: must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def parse_duration(text: str | None) -> float | None:
    """`90`, `90s`, `20m`, `2h` -> seconds; None for no limit. Raises UsageError naming --timeout."""
    from tui.cli import UsageError

    if text is None:
        return None
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"--timeout: give seconds, or minutes and hours as 30m, 2h; not {text!r}")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def search_plan(args: argparse.Namespace, values: dict, name: str, continued: bool = False):
    """The plan from the flags (None when only --study is given), checked; UsageError names the flag.
    `continued`: the study exists; flags may only repeat what it was started with."""
    from core.config import check_resume_path
    from core.runstore.store import resolve_runs_dir
    from core.search.processes import parse_trials
    from core.search.space import SearchSpace
    from core.search.study import PRUNERS, SAMPLERS, SearchPlan
    from tui.cli import UsageError, _FLAG_FOR_FIELD

    if args.pruner is not None and args.pruner not in PRUNERS:
        raise UsageError(f"--pruner: must be one of {', '.join(PRUNERS)}, not {args.pruner!r}")
    if args.sampler is not None and args.sampler not in SAMPLERS:
        raise UsageError(f"--sampler: must be one of {', '.join(SAMPLERS)}, not {args.sampler!r}")
    try:
        trials = parse_trials(args.trials) if args.trials is not None else None
    except ConfigError as bad:
        raise UsageError(f"--trials: {bad.message}") from None
    startup = _whole("--pruner-startup", args.pruner_startup, 0, 10_000) if args.pruner_startup is not None else None
    if not values:
        if not args.study:
            raise UsageError("--lr: a search needs a range or a list to vary, e.g. --lr 1e-4:1e-1:log --batch-size 32,64,128 "
                             "(or --study NAME to continue one)")
        return None, trials
    try:
        space = SearchSpace.parse(values, name)
        check_resume_path(space.base.resume)
    except ConfigError as bad:
        if args.study and not continued and bad.message.startswith("a search needs"):  # a mistyped name, or another --runs-dir
            raise UsageError(f"--study: there is no study {name} in {resolve_runs_dir(args.runs_dir) / '.studies'}; "
                             "give ranges to start one") from None
        if continued:  # e.g. --test-size alone: not a new plan, a change the study does not take
            flag = _FLAG_FOR_FIELD.get(next(iter(values)), "--" + next(iter(values)))
            raise UsageError(f"{flag}: study {name} keeps the configuration it was started with; continue it with --study "
                             f"{name} alone (and --trials, --timeout, --parallel)") from None
        raise UsageError(f"{_FLAG_FOR_FIELD.get(bad.field, '--' + bad.field)}: {bad.message}") from None
    return SearchPlan(space, trials or DEFAULT_TRIALS, args.pruner or "median", args.sampler or "tpe", 5 if startup is None else startup), trials


def check_kept(args: argparse.Namespace, plan) -> None:
    """A continued study keeps its pruner and sampler: a flag that says otherwise is refused."""
    from tui.cli import UsageError

    for flag, given, kept in (("--pruner", args.pruner, plan.pruner), ("--sampler", args.sampler, plan.sampler),
                              ("--pruner-startup", args.pruner_startup, str(plan.pruner_startup))):
        if given is not None and str(given).strip() != kept:
            raise UsageError(f"{flag}: study {args.study} uses {kept}; a continued study keeps it (drop the flag)")


def search_command(args: argparse.Namespace) -> int:
    from core.execution.executor import Executor
    from core.runstore.store import RunStore, resolve_runs_dir
    from core.search.driver import Search, StudyBusy, open_study
    from core.search.study import check_study_name, new_study_name
    from tui.cli import EXIT_FAILED, EXIT_OK, UsageError, _FLAG_FOR_FIELD, _check_devices, _print, _ray_address, _stop_signals

    values = {field: getattr(args, field) for field in _FLAG_FOR_FIELD if getattr(args, field, None) is not None}
    name = args.study.strip() if args.study else new_study_name()
    try:
        check_study_name(name)
    except ConfigError as bad:
        raise UsageError(f"--study: {bad.message}") from None
    from core.search.study import journal_path

    continued = bool(args.study) and journal_path(resolve_runs_dir(args.runs_dir), name).exists()
    plan, trials = search_plan(args, values, name, continued)
    parallel = _whole("--parallel", args.parallel, 1, MAX_PARALLEL)
    timeout = parse_duration(args.timeout)
    ray_address = _ray_address(args)
    store = RunStore(resolve_runs_dir(args.runs_dir))
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        study, plan = open_study(store.root, name, plan, trials=trials, check=lambda stored: check_kept(args, stored))
    except StudyBusy as busy:
        raise UsageError(f"--study: {busy.message}") from None
    except ConfigError as bad:
        raise UsageError(f"--study: {bad.message}" if bad.field == "study" else str(bad)) from None
    except OSError as problem:
        raise UsageError(f"cannot keep the study in {store.root}: {problem.strerror or problem}") from None
    executor = Executor(store, args.data_dir, ray_address=ray_address, warm=False, new_session=False)
    signals = _stop_signals()
    search = Search(study, plan, executor, parallel=parallel, timeout_s=timeout)
    try:
        search.devices = _check_devices(executor, [plan.space.base], args.devices)
        for line in search.reconcile():
            _print(line)
        done = search.counted()
        where = f"the Ray cluster at {executor.launcher.ready_message.get('ray', {}).get('address', ray_address)}" if ray_address \
            else ", ".join(search.devices or [plan.space.base.device])
        if not args.json:
            _print(f"study {name}: {plan.trials} trials{f' ({done} done before)' if done else ''} of {plan.space.describe()}; "
                   f"{plan.sampler} sampler (seed {plan.seed}), {'no' if plan.pruner == 'none' else plan.pruner} pruner; "
                   f"{parallel} at a time on {where}")
            _print(f"the study is kept in {store.root / '.studies' / (name + '.journal')}; continue it with --study {name}")
        _follow_search(search, args.json)
        signals.busy = True
        search.run(signals.current)
    finally:
        signals.busy = False
        executor.close(wait_s=30)
    if args.json:
        best = search.rows() and max((r for r in search.rows() if r.state == "complete"), key=lambda r: r.value, default=None)
        importances, note = search.importances()
        _print(json.dumps({"event": "study_ended", "study": search.name, "state": search.state, "message": search.message,
                           "trials": search.counted(), "best": best.__dict__ if best else None,
                           "importances": importances, "importance_note": note}))
    else:
        report(search, _print)
    if signals.received:
        return 128 + signals.received[0]
    return EXIT_OK if any(row.state == "complete" for row in search.rows()) else EXIT_FAILED


def _follow_search(search, as_json: bool) -> None:
    """Print each trial's events as the run store receives them, and each trial's end."""
    from core.search.driver import state_word
    from tui.cli import _print

    def params_text(params: dict) -> str:
        return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())

    def on_event(event) -> None:
        active = search.active.get(event.run_id)
        if as_json:
            _print(json.dumps({**event.to_dict(), "trial": active.trial.number if active else None}))
        elif (line := format_line(event)) is not None and active is not None:
            _print(f"(trial {active.trial.number}: {params_text(active.trial.params)}) {line}")

    def on_trial_end(run_id: str, trial) -> None:
        if as_json:
            _print(json.dumps({"event": "trial_ended", "trial": trial.number, "run_id": run_id, "state": state_word(trial),
                               "value": trial.value, "params": trial.params}))
            return
        best = max((r for r in search.rows() if r.state == "complete" and r.value is not None), key=lambda r: r.value, default=None)
        so_far = f"; best so far: trial {best.number} at {best.value * 100:.2f}%" if best else ""
        _print(f"trial {trial.number} {state_word(trial)}{so_far} ({search.counted()}/{search.plan.trials} trials)")

    search.on_event, search.on_trial_end = on_event, on_trial_end


def report(search, emit) -> None:
    """The end of a search: every trial, the best and its command, importances, and two charts."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from core.search.space import log_scaled
    from tui.renderables import print_table
    from tui.search_charts import chart_text, draw_objective, draw_param

    rows = search.rows()
    fields = [p.field for p in search.plan.space.params]
    table = Table(title=Text(f"study {search.name}: {search.state}" + (f" ({search.message})" if search.message else "")), title_justify="left")
    for column in ("trial", "state", *fields, "epochs", "accuracy %", "why"):
        table.add_column(column, justify="left" if column in ("state", "why", "optimizer", "model", "schedule", "dataset") else "right",
                         overflow="fold")
    for row in rows:
        accuracy = row.value if row.value is not None else row.last
        cells = [str(row.number), row.state, *(_cell(row.params.get(f)) for f in fields), str(row.epochs or ""),
                 "" if accuracy is None else f"{accuracy * 100:.2f}", row.reason]
        table.add_row(*(Text(c) for c in cells))
    console = Console()
    print_table(console, table)
    color = console.is_terminal and not os.environ.get("NO_COLOR")
    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    for draw in (lambda plt: draw_objective(plt, rows, color=color),
                 *(lambda plt, p=p: draw_param(plt, rows, p.field, log_scaled(p), color=color)
                   for p in search.plan.space.params if not p.choices or _numeric(p.choices))):
        if any(r.state in ("complete", "pruned") for r in rows):
            text = chart_text(draw, width, 16, color=color)
            emit(text if color else _plain(text))
    # What the user acts on comes last, where the terminal ends: the best trial, its command, how to go on.
    best = max((r for r in rows if r.state == "complete" and r.value is not None), key=lambda r: (r.value, -r.number), default=None)
    if best is None:
        emit("no trial completed: nothing to recommend")
    else:
        flags = " ".join(f"--{f.replace('_', '-')} {_cell(best.params[f])}" for f in fields)
        emit(f"best: trial {best.number} at {best.value * 100:.2f}% (run {best.run_id}): {flags}")
        emit(f"train it again: mnist-tui train {_train_flags(search.plan.space.config(best.params))}")
        importances, note = search.importances()
        if importances:
            emit("parameter importances (Optuna's default evaluator, PED-ANOVA): " +
                 ", ".join(f"{field} {value:.2f}" for field, value in importances.items()))
        elif note:
            emit(note)
    if search.state == "stopped":
        emit(f"continue it: mnist-tui search --study {search.name}" + ("" if search.executor.store.root == Path("runs") else
                                                                        f" --runs-dir {search.executor.store.root}"))


def _cell(value) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _numeric(choices) -> bool:
    try:
        [float(c) for c in choices]
        return True
    except ValueError:
        return False


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _train_flags(config) -> str:
    """The flags that give `train` this configuration (only those unlike the defaults)."""
    from core.config import RunConfig
    from tui.cli import _FLAG_FOR_FIELD

    default = RunConfig()
    out = []
    for field, flag in _FLAG_FOR_FIELD.items():
        value = getattr(config, field)
        if field in ("name", "sweep") or value == getattr(default, field) or value is None:
            continue
        if isinstance(value, bool):
            out.append(flag)
        else:
            short = f"{value:g}" if isinstance(value, float) else str(value)
            out.append(f"{flag} {short if not isinstance(value, float) or float(short) == value else repr(value)}")
    return " ".join(out)
