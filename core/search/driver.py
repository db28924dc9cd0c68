"""Driving a search: Optuna's ask-and-tell over the executor (core.execution.executor).

    study.ask()  -> a trial's parameters -> a run config -> Executor.submit (a local slot, or Ray)
    epoch_ended  -> trial.report(accuracy, epoch); trial.should_prune() -> a stop request that says
                    "pruned after epoch N: ..." (the run keeps that epoch's checkpoint)
    the run ends -> study.tell(final accuracy) / PRUNED / FAIL

as Optuna's ask-and-tell examples do (optuna.readthedocs.io, "Ask-and-Tell Interface"), with the
objective run elsewhere: every trial is an ordinary run in the run store (its sweep is the study),
so the table, charts, export and inspect know it. Up to `parallel` trials train at once.

Counting: `plan.trials` trials count once each: completed, pruned, or failed by themselves (a
diverged loss). A trial whose run did not end by itself (this driver was stopped or killed, its
runner died, the Ray cluster went away) is marked FAIL with user attribute "interrupted", does not
count, and its parameters are queued again (`study.enqueue_trial`), so `--study NAME` re-runs them
first. The summary file (core.search.study) is rewritten after every change for the dashboard.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Callable

from core.config import ConfigError, RunConfig
from core.events import END_KINDS, EpochEnded, Event, RunFailed, RunStopped
from core.execution.control import ControlError
from core.runstore.liveness import is_live, this_process
from core.runstore.results import RunRecord
from core.search.pruning import make_pruner, prune_reason
from core.search.study import HEARTBEAT_S, SearchPlan, StudySummary, TrialRow, check_study_name, journal_path, open_storage, read_summary, studies_dir

PLAN_ATTR = "mnist_tui_plan"
MAX_TRIALS = 10_000


class StudyBusy(ConfigError):
    """The study is driven by another live process, or one of its trials still trains."""


@dataclass
class ActiveTrial:
    trial: object  # optuna.trial.Trial
    config: RunConfig
    record: RunRecord
    pruned_at: int | None = None  # the epoch after which the pruner stopped it
    prune_reason: str = ""
    prune_sent: bool = False


def trial_name(base_name: str, number: int) -> str:
    """`trial 7`, or `<the user's name> trial 7` (a name is at most 60 characters)."""
    suffix = f"trial {number}"
    return f"{base_name[: 59 - len(suffix)]} {suffix}" if base_name else suffix


def _sampler(plan: SearchPlan, trials_so_far: int):
    """TPE (Optuna's default; Bergstra et al. 2011) or random, seeded from the plan's seed and how
    many trials the study already has: the same seed and history give the same parameters, and a
    continued study does not replay the first session's draws."""
    import optuna

    seed = (plan.seed * 1_000_003 + trials_so_far) % 2**32
    if plan.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def open_study(runs_root, name: str, plan: SearchPlan | None, *, trials: int | None = None,
               check: Callable[[SearchPlan], None] | None = None):
    """(study, plan): a new study when `plan` is given and `name` is new; else the stored one
    continued, with `trials` as its new count when given (stored in the study).

    Raises ConfigError (field "study") when a continued study has no plan or a different one,
    StudyBusy when another process drives it; `check(stored plan)` may refuse before anything is written."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our lines say what happens
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    check_study_name(name)
    exists = journal_path(runs_root, name).exists()
    if not exists and plan is None:
        raise ConfigError("study", f"there is no study {name} in {studies_dir(runs_root)}; give ranges to start one")
    storage = open_storage(runs_root, name)
    if exists and name in optuna.get_all_study_names(storage):
        summary_path = studies_dir(runs_root) / f"{name}.json"
        if summary_path.exists():
            try:
                summary = read_summary(summary_path)
            except (OSError, ValueError):
                summary = None
            if summary is not None and summary.driver_alive():
                driver = summary.driver
                raise StudyBusy("study", f"{name} is being searched by process {driver.get('pid')} on {driver.get('host')}; "
                                         "let it finish, or stop it first")
        probe = optuna.load_study(study_name=name, storage=storage)
        stored = SearchPlan.from_dict(probe.user_attrs.get(PLAN_ATTR))
        if plan is not None and plan.space != stored.space:
            raise ConfigError("study", f"{name} searches {stored.space.describe()}; a continued study keeps its ranges "
                                       "(give only --study, and --trials to change how many)")
        if check is not None:
            check(stored)
        plan = SearchPlan(stored.space, trials or stored.trials, stored.pruner, stored.sampler, stored.pruner_startup)
        study = optuna.load_study(study_name=name, storage=storage, sampler=_sampler(plan, len(probe.trials)),
                                  pruner=make_pruner(plan.pruner, plan.space.base.epochs, plan.pruner_startup))
        study.set_user_attr(PLAN_ATTR, plan.to_dict())
        return study, plan
    if plan is None:
        raise ConfigError("study", f"there is no study {name} in {studies_dir(runs_root)}; give ranges to start one")
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", sampler=_sampler(plan, 0),
                                pruner=make_pruner(plan.pruner, plan.space.base.epochs, plan.pruner_startup))
    study.set_user_attr(PLAN_ATTR, plan.to_dict())
    return study, plan


def state_word(trial) -> str:
    """complete, pruned, running, waiting, failed, or interrupted (a FAIL that runs again)."""
    from optuna.trial import TrialState

    if trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted"):
        return "interrupted"
    return {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.RUNNING: "running",
            TrialState.WAITING: "waiting"}.get(trial.state, "failed")


def counts(trial) -> bool:
    """Whether a finished trial counts toward the study's trials (not an interrupted one)."""
    from optuna.trial import TrialState

    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and not trial.user_attrs.get("interrupted"))


class Search:
    """One session of a study: `run` asks, trains, prunes and tells until the study has its trials."""

    def __init__(self, study, plan: SearchPlan, executor, *, parallel: int = 1, timeout_s: float | None = None,
                 devices: list[str] | None = None) -> None:
        self.study, self.plan, self.executor = study, plan, executor
        self.name = study.study_name
        self.parallel, self.timeout_s, self.devices = parallel, timeout_s, devices
        self.distributions = plan.space.distributions()
        self.active: dict[str, ActiveTrial] = {}
        self.started = time.monotonic()
        self.cancel: threading.Event = threading.Event()
        self.state, self.message = "running", ""
        self.on_event: Callable[[Event], None] = lambda event: None
        self.on_trial_end: Callable[[str, object], None] = lambda run_id, trial: None  # (run id, FrozenTrial)
        self.driver = this_process()
        self.written_at = 0.0  # when the summary was last written (time.monotonic)

    # ----- what is left ---------------------------------------------------------------------
    def counted(self) -> int:
        return sum(counts(t) for t in self.study.get_trials(deepcopy=False))

    def timed_out(self) -> bool:
        return self.timeout_s is not None and time.monotonic() - self.started >= self.timeout_s

    def wanted(self) -> bool:
        return self.counted() + len(self.active) < self.plan.trials and not self.timed_out()

    # ----- continuing a study ---------------------------------------------------------------
    def reconcile(self) -> list[str]:
        """Settle the trials a killed driver left RUNNING, from their runs in the store; returns a line for each.
        Raises StudyBusy when one still trains (its runner outlived the driver)."""
        from optuna.trial import Trial, TrialState

        lines = []
        store = self.executor.store
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            run_id = frozen.user_attrs.get("run_id", "")
            record = None
            if run_id and (store.root / run_id).is_dir():
                if is_live(store.root / run_id):
                    raise StudyBusy("study", f"trial {frozen.number}'s run {run_id} is still training; wait for it to end or stop it")
                record = RunRecord.from_stored(store.load(run_id))
            trial = Trial(self.study, frozen._trial_id)
            if record is not None:
                for epoch, accuracy in sorted(record.accuracies.items()):
                    if epoch not in frozen.intermediate_values:
                        trial.report(accuracy, epoch)
            lines.append(self._conclude_record(trial, frozen.number, frozen.params, record, "the search ended before its run began"))
        return lines

    # ----- the loop -------------------------------------------------------------------------
    def run(self, cancel: threading.Event) -> None:
        """Train trials until the study has `plan.trials` counted ones (or the timeout passed, or
        `cancel` is set: the runs training stop, their trials are re-run by a later session)."""
        self.cancel = cancel
        self.started = time.monotonic()  # the timeout counts from here, not from the device check's torch import
        self.write_summary()
        try:
            self.executor.drive(self._on_event, cancel, more=self._ask_more)
        finally:
            for run_id in list(self.active):  # never started (stopped while queued): its parameters wait for the next session
                self._conclude(run_id, None)
            if cancel.is_set():
                self.state, self.message = "stopped", getattr(cancel, "reason", "") or "stopped"
            elif self.timed_out() and self.counted() < self.plan.trials:
                self.state, self.message = "stopped", f"the timeout of {self.timeout_s:g} s passed"
            else:
                self.state = "finished"
            self.write_summary(importances=True)

    def _send_prunes(self) -> None:
        for run_id, active in self.active.items():
            if active.prune_reason and not active.prune_sent:
                active.prune_sent = True
                try:
                    self.executor.stop(run_id, active.prune_reason, pruned_after=active.pruned_at)
                except ControlError:
                    pass  # it ended meanwhile: its end event settles it

    def _ask_more(self) -> bool:
        """Prune what was judged, start trials while slots and the plan allow; True while more will be asked later."""
        self._send_prunes()
        if time.monotonic() - self.written_at > HEARTBEAT_S:
            self.write_summary()  # a heartbeat: a dashboard on another host tells a live driver by it
        if self.cancel.is_set():
            return False
        while len(self.active) < self.parallel and self.wanted():
            trial = self.study.ask(self.distributions)
            base = self.plan.space.base
            config = self.plan.space.config(trial.params, name=trial_name(base.name, trial.number), sweep=self.name)
            per_device = max(1, math.ceil(self.parallel / len(self.devices or [""])))
            [(run_id, config)] = self.executor.submit([config], self.devices, runs_per_device=per_device)
            trial.set_user_attr("run_id", run_id)
            self.active[run_id] = ActiveTrial(trial, config, RunRecord(run_id, config))
            self.write_summary()
        return self.wanted()

    def _on_event(self, event: Event) -> None:
        active = self.active.get(event.run_id)
        if active is None:
            return
        active.record.apply(event)
        self.on_event(event)
        if isinstance(event, EpochEnded) and active.pruned_at is None and not self.cancel.is_set():
            active.trial.report(event.accuracy, event.epoch)
            # Not after the last epoch (the run ends anyway), and sent once this round's events are
            # read (_send_prunes): a run whose end was read with this epoch is never signalled.
            if event.epoch < active.config.epochs and active.trial.should_prune():
                frozen = self.study._storage.get_trial(active.trial._trial_id)
                active.pruned_at, active.prune_reason = event.epoch, prune_reason(self.study, frozen, event.epoch, self.plan.pruner)
        if event.kind in END_KINDS:
            self._conclude(event.run_id, event)

    def _conclude(self, run_id: str, event: Event | None) -> None:
        """Tell Optuna how the trial of `run_id` ended (its end event; None: it never ran)."""
        active = self.active.pop(run_id)
        trial = active.trial
        record = active.record if event is not None else None
        why = "it never started: the search stopped first"
        if (record is not None and self.cancel.is_set() and isinstance(event, RunStopped) and not event.pruned_after
                and record.last_epoch < record.start_epoch + record.config.epochs):
            record, why = None, f"stopped with the search ({event.reason})"  # re-run next time
        if isinstance(event, RunFailed) and event.error_type == "RunnerDied":
            record, why = None, event.message  # not the configuration's fault
        self._conclude_record(trial, trial.number, trial.params, record, why)
        self.on_trial_end(run_id, self.study._storage.get_trial(trial._trial_id))
        self.write_summary(importances=True)
        if event is not None:
            self._ask_more()  # before the executor frees the slot: its runner trains the next trial (no new torch import)

    def _conclude_record(self, trial, number: int, params: dict, record: RunRecord | None,
                         why: str = "its run is gone") -> str:
        """Tell Optuna from the run's record; without one (`why` it has none that counts) the trial
        is interrupted: FAIL, not counted, its parameters queued to run again first."""
        from optuna.trial import TrialState

        trained_all = record is not None and record.last_epoch >= record.start_epoch + record.config.epochs
        if record is not None and (record.status == "done" or trained_all) and record.final is not None:
            self.study.tell(trial, record.final)  # every epoch trained: stopped after its last, it is complete
            return f"trial {number}: {record.final * 100:.2f}%"
        if record is not None and record.status == "pruned":
            trial.set_user_attr("reason", record.message)
            self.study.tell(trial, state=TrialState.PRUNED)
            return f"trial {number}: {record.message}"
        if record is not None and record.status in ("failed", "stopped"):
            trial.set_user_attr("reason", record.message)
            self.study.tell(trial, state=TrialState.FAIL)
            return f"trial {number} failed: {record.message}"
        why = record.message if record is not None and record.message else why
        trial.set_user_attr("interrupted", why)
        self.study.tell(trial, state=TrialState.FAIL)
        self.study.enqueue_trial(params, skip_if_exists=False)
        return f"trial {number} was interrupted ({why}); its parameters run again"

    # ----- what the dashboard reads ---------------------------------------------------------
    def rows(self) -> list[TrialRow]:
        from optuna.trial import TrialState

        rows = []
        for t in self.study.get_trials(deepcopy=False):
            state = state_word(t)
            value = t.value if t.state == TrialState.COMPLETE else None
            params = t.params or t.system_attrs.get("fixed_params", {})  # a waiting trial: the parameters queued for it
            reason = t.user_attrs.get("reason") or t.user_attrs.get("interrupted") or ""
            last_epoch = max(t.intermediate_values, default=0)
            rows.append(TrialRow(t.number, t.user_attrs.get("run_id", ""), state, value, dict(params), str(reason),
                                 last_epoch, t.intermediate_values.get(last_epoch)))
        return rows

    def importances(self) -> tuple[dict[str, float], str]:
        """Optuna's parameter importances (its default evaluator, PED-ANOVA in Optuna 5) over the
        completed trials, or ({}, why not)."""
        import optuna
        from optuna.trial import TrialState

        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(complete) < 2:
            return {}, "importances need 2 completed trials"
        try:
            return dict(optuna.importance.get_param_importances(self.study)), ""
        except (ValueError, RuntimeError, ZeroDivisionError) as problem:
            return {}, f"no importances yet ({problem})"

    def write_summary(self, importances: bool = False) -> None:
        imp, note = self.importances() if importances else (None, None)
        if imp is None:  # keep the last ones computed
            previous = studies_dir(self.executor.store.root) / f"{self.name}.json"
            try:
                old = read_summary(previous)
                imp, note = old.importances, old.importance_note
            except (OSError, ValueError):
                imp, note = {}, ""
        summary = StudySummary(self.name, self.plan.to_dict(), self.state, self.rows(), imp, note, self.driver, self.message)
        self.written_at = time.monotonic()
        try:
            summary.write(studies_dir(self.executor.store.root))
        except OSError as problem:  # the study itself is in the journal: the dashboard's view is what is lost
            print(f"mnist-tui: warning: cannot write the study summary: {problem}", flush=True)


def best_trial(study):
    """The completed trial with the highest final accuracy, or None."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: (t.value, -t.number)) if complete else None

