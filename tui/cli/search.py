"""`mnist-tui search`: an Optuna search on the executor (core.search), printed as it goes and summed up
at its end (tui.cli.search_report): every trial, the best one and how to train it again, the
parameters' importances, and two charts (the objective per trial with the best so far; the learning
rate against accuracy)."""

from __future__ import annotations

import argparse
import json
import re

from core.config import ConfigError
from core.events import format_line
from tui.cli.common import (EXIT_FAILED, EXIT_OK, FLAG_FOR_FIELD, UsageError, add_config_flags, add_execution_flags, add_json_flag,
                            add_store_flags, check_devices, config_values, flag_error, print_line, ray_address, stop_signals,
                            whole_number)
from tui.cli.search_report import report

DEFAULT_TRIALS = 20
MAX_PARALLEL = 64
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def add_search_parser(commands) -> None:
    search = commands.add_parser(
        "search",
        help="an Optuna search: ranges (--lr 1e-4:1e-1:log) and lists (--batch-size 32,64,128); bad trials pruned",
        description="Sample configurations with Optuna (TPE by default) from ranges (low:high, low:high:log) and comma "
        "lists; each trial is a run in the runs folder (its sweep is the study); after every epoch a pruner (the median "
        "rule by default) stops trials that fall behind. The study lives in RUNS/.studies: --study NAME continues it.",
    )
    add_config_flags(search)
    search.add_argument("--trials", help=f"trials that count (completed, pruned or failed; default {DEFAULT_TRIALS}, or a continued study's)")
    search.add_argument("--timeout", help="start no trial after this long: seconds, or 30m, 2h (running trials finish)")
    search.add_argument("--parallel", default="1", help="trials training at once (device slots, local or --ray; default 1)")
    # No defaults here: a continued study keeps its own, and a flag that differs from them is refused.
    search.add_argument("--pruner", help="median (default), halving (successive halving), hyperband or none")
    search.add_argument("--pruner-startup", help="completed trials before the median pruner prunes (default 5, Optuna's)")
    search.add_argument("--sampler", help="tpe (default, Optuna's TPESampler) or random; --seed seeds it")
    search.add_argument("--study", help="the study's name: a new one, or one to continue (its ranges are kept)")
    search.add_argument("--devices", help="spread the parallel trials over these devices: all (every GPU) or a list")
    add_json_flag(search)
    add_execution_flags(search, top=True)
    add_store_flags(search)


def parse_duration(text: str | None) -> float | None:
    """`90`, `90s`, `20m`, `2h` -> seconds; None for no limit. Raises UsageError naming --timeout."""
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

    if args.pruner is not None and args.pruner not in PRUNERS:
        raise UsageError(f"--pruner: must be one of {', '.join(PRUNERS)}, not {args.pruner!r}")
    if args.sampler is not None and args.sampler not in SAMPLERS:
        raise UsageError(f"--sampler: must be one of {', '.join(SAMPLERS)}, not {args.sampler!r}")
    try:
        trials = parse_trials(args.trials) if args.trials is not None else None
    except ConfigError as bad:
        raise UsageError(f"--trials: {bad.message}") from None
    startup = whole_number("--pruner-startup", args.pruner_startup, 0, 10_000) if args.pruner_startup is not None else None
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
            flag = FLAG_FOR_FIELD.get(next(iter(values)), "--" + next(iter(values)))
            raise UsageError(f"{flag}: study {name} keeps the configuration it was started with; continue it with --study "
                             f"{name} alone (and --trials, --timeout, --parallel)") from None
        raise flag_error(bad) from None
    return SearchPlan(space, trials or DEFAULT_TRIALS, args.pruner or "median", args.sampler or "tpe", 5 if startup is None else startup), trials


def check_kept(args: argparse.Namespace, plan) -> None:
    """A continued study keeps its pruner and sampler: a flag that says otherwise is refused."""
    for flag, given, kept in (("--pruner", args.pruner, plan.pruner), ("--sampler", args.sampler, plan.sampler),
                              ("--pruner-startup", args.pruner_startup, str(plan.pruner_startup))):
        if given is not None and str(given).strip() != kept:
            raise UsageError(f"{flag}: study {args.study} uses {kept}; a continued study keeps it (drop the flag)")


def search_command(args: argparse.Namespace) -> int:
    from core.execution.executor import Executor
    from core.runstore.store import RunStore, resolve_runs_dir
    from core.search.driver import Search, StudyBusy, open_study
    from core.search.study import check_study_name, new_study_name

    values = config_values(args)
    name = args.study.strip() if args.study else new_study_name()
    try:
        check_study_name(name)
    except ConfigError as bad:
        raise UsageError(f"--study: {bad.message}") from None
    from core.search.study import journal_path

    continued = bool(args.study) and journal_path(resolve_runs_dir(args.runs_dir), name).exists()
    plan, trials = search_plan(args, values, name, continued)
    parallel = whole_number("--parallel", args.parallel, 1, MAX_PARALLEL)
    timeout = parse_duration(args.timeout)
    address = ray_address(args)
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
    executor = Executor(store, args.data_dir, ray_address=address, warm=False, new_session=False)
    signals = stop_signals()
    search = Search(study, plan, executor, parallel=parallel, timeout_s=timeout)
    try:
        search.devices = check_devices(executor, [plan.space.base], args.devices)
        for line in search.reconcile():
            print_line(line)
        done = search.counted()
        where = f"the Ray cluster at {executor.launcher.ready_message.get('ray', {}).get('address', address)}" if address \
            else ", ".join(search.devices or [plan.space.base.device])
        if not args.json:
            print_line(f"study {name}: {plan.trials} trials{f' ({done} done before)' if done else ''} of {plan.space.describe()}; "
                       f"{plan.sampler} sampler (seed {plan.seed}), {'no' if plan.pruner == 'none' else plan.pruner} pruner; "
                       f"{parallel} at a time on {where}")
            print_line(f"the study is kept in {store.root / '.studies' / (name + '.journal')}; continue it with --study {name}")
        _follow_search(search, args.json)
        signals.busy = True
        search.run(signals.current)
    finally:
        signals.busy = False
        executor.close(wait_s=30)
    if args.json:
        best = search.rows() and max((r for r in search.rows() if r.state == "complete"), key=lambda r: r.value, default=None)
        importances, note = search.importances()
        print_line(json.dumps({"event": "study_ended", "study": search.name, "state": search.state, "message": search.message,
                               "trials": search.counted(), "best": best.__dict__ if best else None,
                               "importances": importances, "importance_note": note}))
    else:
        report(search, print_line)
    if signals.received:
        return 128 + signals.received[0]
    return EXIT_OK if any(row.state == "complete" for row in search.rows()) else EXIT_FAILED


def _follow_search(search, as_json: bool) -> None:
    """Print each trial's events as the run store receives them, and each trial's end."""
    from core.search.driver import state_word

    def params_text(params: dict) -> str:
        return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())

    def on_event(event) -> None:
        active = search.active.get(event.run_id)
        if as_json:
            print_line(json.dumps({**event.to_dict(), "trial": active.trial.number if active else None}))
        elif (line := format_line(event)) is not None and active is not None:
            print_line(f"(trial {active.trial.number}: {params_text(active.trial.params)}) {line}")

    def on_trial_end(run_id: str, trial) -> None:
        if as_json:
            print_line(json.dumps({"event": "trial_ended", "trial": trial.number, "run_id": run_id, "state": state_word(trial),
                                   "value": trial.value, "params": trial.params}))
            return
        best = max((r for r in search.rows() if r.state == "complete" and r.value is not None), key=lambda r: r.value, default=None)
        so_far = f"; best so far: trial {best.number} at {best.value * 100:.2f}%" if best else ""
        print_line(f"trial {trial.number} {state_word(trial)}{so_far} ({search.counted()}/{search.plan.trials} trials)")

    search.on_event, search.on_trial_end = on_event, on_trial_end
