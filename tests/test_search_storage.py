"""The study's storage and the pruners' words, without training: Optuna's journal in the runs folder
takes two processes writing at once, and each pruner's decision is explained with its own numbers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import optuna
import pytest

from core.search.pruning import make_pruner, prune_reason
from core.search.study import open_storage

pytestmark = pytest.mark.timeout(120)

WRITER = textwrap.dedent("""
    import sys, optuna
    from pathlib import Path
    from core.search.study import open_storage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="shared", storage=open_storage(Path(sys.argv[1]), "shared"))
    for k in range(40):
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)})
        trial.report(0.5, 1)
        study.tell(trial, float(sys.argv[2]) + k / 1000)
""")


def test_two_processes_writing_one_journal_lose_nothing(tmp_path):
    optuna.create_study(study_name="shared", storage=open_storage(tmp_path, "shared"), direction="maximize")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(base)]) for base in (0, 1)]
    assert [w.wait(timeout=90) for w in writers] == [0, 0]
    study = optuna.load_study(study_name="shared", storage=open_storage(tmp_path, "shared"))
    assert len(study.trials) == 80 and sorted(t.number for t in study.trials) == list(range(80))
    assert sorted(t.value for t in study.trials) == sorted([k / 1000 for k in range(40)] + [1 + k / 1000 for k in range(40)])
    assert not list(tmp_path.glob(".studies/*.lock"))  # the lock file is gone once both are done


def _study(pruner: str, finished: list[float]):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A fixed name: Hyperband puts a trial in a bracket by a hash of the study name and trial number (optuna.pruners.HyperbandPruner),
    # so a random name made its test pass or fail by chance.
    study = optuna.create_study(study_name="pruner words", direction="maximize", pruner=make_pruner(pruner, epochs=9, startup=2))
    distributions = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    for value in finished:
        trial = study.ask(distributions)
        trial.report(value, 1)
        trial.should_prune()
        study.tell(trial, value)
    return study, distributions


def _pruned(pruner: str, finished: list[float], value: float) -> str:
    """A new trial reports `value` after epoch 1 among `finished` ones; the pruner prunes it: why."""
    study, distributions = _study(pruner, finished)
    trial = study.ask(distributions)
    trial.report(value, 1)
    assert trial.should_prune()
    return prune_reason(study, study._storage.get_trial(trial._trial_id), 1, pruner)


def test_the_median_pruner_says_which_median_and_of_how_many():
    assert _pruned("median", [0.90, 0.96, 0.98], 0.80) == (
        "pruned after epoch 1: 80.00% is below the median 96.00% of 3 completed trials at that epoch (median pruner)")


def test_successive_halving_says_the_rank_and_the_share_that_goes_on():
    assert _pruned("halving", [0.97, 0.96, 0.95, 0.94, 0.93], 0.50) == (
        "pruned after epoch 1 by successive halving: 50.00% ranks 6 of the 6 trials at epoch 1; only the top 1/3 go on")


def test_hyperband_prunes_a_trial_that_falls_behind_and_says_so():
    study, distributions = _study("hyperband", [0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.90])
    pruned = []
    for _ in range(6):
        trial = study.ask(distributions)
        trial.report(0.10, 1)
        if trial.should_prune():
            pruned.append(prune_reason(study, study._storage.get_trial(trial._trial_id), 1, "hyperband"))
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, 0.10)
    assert pruned and pruned[0].startswith("pruned after epoch 1 by Hyperband (successive halving in its bracket): 10.00% ranks ")


def test_the_table_rounds_a_searchs_small_learning_rate_instead_of_cutting_it():
    """A log range samples rates like 1.45667e-05: the table's 7-cell lr column showed `1.45667`."""
    from core.comparison.columns import HYPERPARAMETERS, cell_text
    from core.config import RunConfig
    from core.runstore.results import RunRecord

    lr, momentum = (next(c for c in HYPERPARAMETERS if c.key == key) for key in ("lr", "momentum"))
    record = RunRecord("r", RunConfig(lr=1.45667e-05, momentum=0.5159327))
    assert cell_text(lr, record) == "1.46e-5" and len(cell_text(lr, record)) <= lr.width
    assert cell_text(momentum, record) == "0.516"
    assert cell_text(lr, RunRecord("r", RunConfig(lr=0.01))) == "0.01"
