"""The pruners a search offers, and why a trial was pruned, in words.

Optuna decides (its pruners are the well-kept code); this module only builds them and explains a
decision with the same numbers the pruner used:

- median (default): `optuna.pruners.MedianPruner` — after an epoch, a trial whose best accuracy so
  far is below the median of the completed trials' accuracies at that epoch stops (Optuna's
  PercentilePruner at 50; no pruning until `startup` trials have completed).
- halving: `optuna.pruners.SuccessiveHalvingPruner` (Jamieson & Talwalkar 2016; ASHA, Li et al.
  2020) — at rungs of 1, 3, 9... epochs, only the top 1/3 of the trials that reached it go on.
- hyperband: `optuna.pruners.HyperbandPruner` (Li et al. 2018) — several successive-halving
  brackets with different first rungs, from 1 epoch up to the trial's epochs.
"""

from __future__ import annotations

import math

REDUCTION_FACTOR = 3


def make_pruner(name: str, epochs: int, startup: int):
    """An Optuna pruner by name ("median", "halving", "hyperband", "none")."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=REDUCTION_FACTOR)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1), reduction_factor=REDUCTION_FACTOR)
    return optuna.pruners.NopPruner()


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def prune_reason(study, trial, epoch: int, pruner: str) -> str:
    """Why `trial` (a FrozenTrial that reported `epoch`) was pruned, with the numbers the rule used:
    "pruned after epoch 2: 96.10% is below the median 97.40% of 5 completed trials at that epoch"."""
    import numpy as np
    from optuna.trial import TrialState

    value = trial.intermediate_values[epoch]
    best = max(v for v in trial.intermediate_values.values() if not math.isnan(v))
    said = _percent(value) if best == value else f"its best so far, {_percent(best)},"
    if pruner == "median":
        others = [t.intermediate_values[epoch] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                  if epoch in t.intermediate_values]
        median = float(np.nanpercentile(np.array(others, dtype=float), 50)) if others else math.nan
        return (f"pruned after epoch {epoch}: {said} is below the median {_percent(median)} of "
                f"{len(others)} completed trial{'s' if len(others) != 1 else ''} at that epoch (median pruner)")
    reached = [t.intermediate_values[epoch] for t in study.get_trials(deepcopy=False)
               if epoch in t.intermediate_values and t.number != trial.number]
    rank = 1 + sum(v > value for v in reached)
    rule = "successive halving" if pruner == "halving" else "Hyperband (successive halving in its bracket)"
    return (f"pruned after epoch {epoch} by {rule}: {_percent(value)} ranks {rank} of the {len(reached) + 1} trials "
            f"at epoch {epoch}; only the top 1/{REDUCTION_FACTOR} go on")
