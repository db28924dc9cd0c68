"""A search space: ranges and choices per configuration field, parsed from what the user typed.

    --lr 1e-4:1e-1:log     a float range, sampled on a log scale (`low:high`, or `low:high:log`)
    --momentum 0.8:0.99    a float range, uniform
    --batch-size 32,64,128 a choice (any searchable field); `16:256:log` is an integer range
    --optimizer sgd,adam   a choice
    --epochs 3             one value: every trial has it (fields that cannot vary take only one)

Every bound and choice is checked by core.config's own parser (so `--lr abc` is refused in the
words `train` uses), and a range by its shape: low below high, a log range above 0. Errors are
ConfigError naming the field; the CLI turns the field into its flag. Nothing here imports Optuna
or torch: the dashboard's form checks a search as the user types; `distributions()` imports
Optuna when a search starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from core.config import ConfigError, RunConfig, check_config, parse_config, parse_field

# Fields a trial may vary, and how: a float or int range, or a choice among values.
RANGE_KINDS = {"lr": float, "momentum": float, "weight_decay": float, "batch_size": int}
CHOICE_FIELDS = ("lr", "momentum", "weight_decay", "batch_size", "optimizer", "model", "schedule", "dataset")
SEARCHABLE = CHOICE_FIELDS
ONE_VALUE = ("epochs", "seed", "log_every", "train_size", "test_size")  # numbers that a typo could make a list
MAX_CHOICES = 50


@dataclass(frozen=True)
class Param:
    """One varied field: a range (`low`..`high`, `log` scale) or a tuple of `choices` (as typed, checked)."""

    field: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"field": self.field, "choices": list(self.choices)}
        return {"field": self.field, "low": self.low, "high": self.high, "log": self.log}

    @property
    def text(self) -> str:
        """As the user types it: `1e-4:0.1:log`, `32,64,128`."""
        if self.choices:
            return ",".join(self.choices)
        return f"{self.low:g}:{self.high:g}" + (":log" if self.log else "")


def parse_param(field: str, text: str) -> Param | None:
    """A field's text as a Param, or None when it is one plain value. Raises ConfigError naming the field."""
    text = str(text).strip()
    if ":" in text:
        return _parse_range(field, text)
    if "," in text:
        return _parse_choices(field, text)
    parse_field(field, text)  # one value: checked as `train` checks it
    return None


def _parse_range(field: str, text: str) -> Param:
    kind = RANGE_KINDS.get(field)
    if kind is None:
        raise ConfigError(field, f"takes no range ({text!r}); give a comma list of values")
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() not in ("log", "linear")):
        raise ConfigError(field, f"a range is low:high or low:high:log, got {text!r}")
    log = len(parts) == 3 and parts[2].lower() == "log"
    bounds = []
    for part in parts[:2]:
        if log and _is_zero(part):
            raise ConfigError(field, f"a log range must lie above 0, and {text!r} reaches 0 (start it at a small number, e.g. 1e-6)")
        try:
            bounds.append(parse_field(field, part))
        except ConfigError as bad:
            raise ConfigError(field, f"{part!r} in {text!r}: {bad.message}") from None
    low, high = bounds
    if not low < high:
        raise ConfigError(field, f"the range's low end {low:g} must be below its high end {high:g} (got {text!r})")
    if log and low <= 0:
        raise ConfigError(field, f"a log range must lie above 0, and {text!r} reaches 0 (start it at a small number, e.g. 1e-6)")
    return Param(field, kind(low), kind(high), log)


def _is_zero(text: str) -> bool:
    try:
        return float(text) == 0
    except ValueError:
        return False


def _parse_choices(field: str, text: str) -> Param:
    parts = [part.strip() for part in text.split(",")]
    if any(not part for part in parts):
        raise ConfigError(field, f"has an empty value in {text!r}")
    seen: list[str] = []
    for part in parts:
        try:
            value = parse_field(field, part)
        except ConfigError as bad:
            raise ConfigError(field, f"{part!r}: {bad.message}") from None
        canonical = repr(value) if isinstance(value, float) else str(value)
        if canonical not in seen:
            seen.append(canonical)
    if len(seen) > MAX_CHOICES:
        raise ConfigError(field, f"at most {MAX_CHOICES} choices, got {len(seen)}")
    return Param(field, choices=tuple(seen))


@dataclass(frozen=True)
class SearchSpace:
    """What a search varies (`params`) over one fixed configuration (`base`: every other field)."""

    params: tuple[Param, ...]
    base: RunConfig

    @classmethod
    def parse(cls, values: Mapping[str, str], sweep: str = "") -> "SearchSpace":
        """From field -> text (a flag's or a form field's); raises ConfigError naming the field.
        At least one field must vary; every trial's configuration is checked (its smallest batch
        against the training subset, say) before a trial starts."""
        params, fixed = [], {}
        for field, text in values.items():
            if field in ONE_VALUE and any(mark in str(text) for mark in ":,"):
                raise ConfigError(field, f"takes one value in a search, not {str(text).strip()!r}; it can vary: {', '.join(SEARCHABLE)}")
            param = parse_param(field, text) if field in SEARCHABLE else None
            if param is None:
                fixed[field] = text
            else:
                params.append(param)
        if not params:
            raise ConfigError("lr", "a search needs a range or a list to vary, e.g. --lr 1e-4:1e-1:log or --batch-size 32,64,128")
        base = parse_config({**fixed, "sweep": sweep})
        space = cls(tuple(params), base)
        for param in params:  # each extreme against the fixed fields (a batch larger than the subset)
            for value in (param.choices or (param.low, param.high)):
                try:
                    check_config(base.with_values(**{param.field: parse_field(param.field, str(value))}))
                except ConfigError as bad:
                    raise ConfigError(param.field, f"{value}: {bad.message}") from None
        return space

    def to_dict(self) -> dict[str, Any]:
        return {"params": [p.to_dict() for p in self.params], "base": self.base.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SearchSpace":
        """Inverse of to_dict, checked as typed text is (a study's stored space)."""
        try:
            texts = {p["field"]: (",".join(p["choices"]) if p.get("choices") else
                                  f"{p['low']!r}:{p['high']!r}" + (":log" if p.get("log") else "")) for p in data["params"]}
            base = RunConfig.from_dict(data["base"])
        except (KeyError, TypeError, AttributeError) as bad:
            raise ConfigError("study", f"its stored search space is malformed ({bad})") from None
        fixed = {k: v for k, v in base.to_dict().items() if k not in texts and k != "sweep"}
        return cls.parse({**{k: ("" if v is None else str(v)) for k, v in fixed.items()}, **texts}, base.sweep)

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions, by field name (FloatDistribution, IntDistribution, CategoricalDistribution)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out = {}
        for p in self.params:
            if p.choices:
                out[p.field] = CategoricalDistribution(list(p.choices))
            elif RANGE_KINDS[p.field] is int:
                out[p.field] = IntDistribution(int(p.low), int(p.high), log=p.log)
            else:
                out[p.field] = FloatDistribution(float(p.low), float(p.high), log=p.log)
        return out

    def config(self, params: Mapping[str, Any], **changes: Any) -> RunConfig:
        """A trial's configuration: the base with its sampled values (checked as typed values are)."""
        texts = {field: (repr(value) if isinstance(value, float) else str(value)) for field, value in params.items()}
        return parse_config(texts, self.base.with_values(**changes))

    def describe(self) -> str:
        """`lr 0.0001..0.1 (log), batch_size 32|64|128`."""
        return ", ".join(
            f"{p.field} {'|'.join(p.choices)}" if p.choices else f"{p.field} {p.low:g}..{p.high:g}{' (log)' if p.log else ''}"
            for p in self.params
        )


def log_scaled(param: Param) -> bool:
    """Whether a chart of this parameter wants a log axis (a log range, or choices a decade or more apart)."""
    if param.log:
        return True
    try:
        numbers = [float(c) for c in param.choices]
    except ValueError:
        return False
    return bool(numbers) and min(numbers) > 0 and math.log10(max(numbers) / min(numbers)) >= 1
