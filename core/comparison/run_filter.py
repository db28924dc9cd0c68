"""Finding runs by what is typed: `/` in the dashboard narrows the table, charts, pivot and export.

The grammar (`parse_filter` reads it; every term must hold):

    filter    := term ( spaces term )*
    term      := word | "phrase with spaces" | key op value
    op        := =  !=  <  <=  >  >=  and  :  (the same as =)

- A *word* (or a *phrase* in double quotes) matches a run whose name (its label: the name it was
  given, else `cnn lr=0.01 bs=64`) or status contains it, whatever the case and Unicode form:
  `AMÉLIE` finds *Amélie* typed with a combining accent (see `name_key`). A quoted phrase is always
  a word, so `"12:30"` finds a name with a colon in it.
- A *condition* compares one field of the run:
  - numbers: `lr`, `bs` (batch_size), `epochs`, `mom` (momentum), `wd` (weight_decay), `seed`,
    `log_every`, `train_n`/`test_n` (train_size/test_size; `all` is the whole set) and the
    results `acc` (or `final`: the final test accuracy, in percent, as the table shows it) and
    `best`, e.g. `acc>98` or `best>=99%`. Any op; `=` is equality within a relative tolerance
    (`lr=0.01` matches an lr stored as 0.010000000000000002), and `<`/`>` are strict beyond it.
  - fields with a fixed set of values: `model`, `data` (dataset), `opt` (optimizer), `sched`
    (schedule), `status`, `compile`, `tensorboard` (on/off): `=`, `:` or `!=` with one of the values
    or the start of one (`status:fail`, `opt=sgd`), any case; another value is an error naming
    the allowed ones.
  - text: `name` (the label), `sweep`, `resume`, `reason` (why it failed or stopped), `device`
    (where it ran, else where it was asked to): `=`/`:` contains the value, any case; `!=` does not.
  Every RunConfig field's own name works too (`batch_size<128`, `optimizer:adam`).
  `!=` is the opposite of `=` for a run that has the field: a run without an accuracy yet has
  no `acc`, and an unreadable run has no configuration, so neither matches a condition on it.

A term that cannot be read raises FilterError, whose message quotes the term and says what is
allowed (``bs<abc`: bs needs a number`). No Textual here: the headless side may use it too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Callable

from core.config import DATASETS, MODELS, OPTIMIZERS, SCHEDULES, TEST_SET_SIZE, TRAIN_SET_SIZE
from core.runstore.results import STATUSES, RunRecord

OPS = ("!=", "<=", ">=", "=", "<", ">", ":")  # longest first: `<=` is not `<` then `=`
_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(!=|<=|>=|=|<|>|:)(.*)$", re.DOTALL)
_TOKEN = re.compile(r'(?:"[^"]*"|[^\s"])+')  # a run of quoted parts and other non-space characters
_ON_OFF = ("on", "off")
_TOLERANCE = 1e-9  # relative: float noise (0.1 + 0.2) is equal, a different setting never is


class FilterError(ValueError):
    """A filter that cannot be read; the message quotes the bad term and what is allowed."""


def name_key(text: str) -> str:
    """How names are compared: Unicode-normalised (NFKC: a precomposed `é` and an `e` with a
    combining accent, full-width and plain letters match) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Field:
    name: str  # as messages call it: the short name users type
    kind: str  # "number", "choice" (a fixed set of values, `values`) or "text"
    value: Callable[[RunRecord], object] = dataclass_field(repr=False)  # None: the run has no such value (yet)
    values: tuple[str, ...] = ()
    config: bool = True  # part of the configuration: unknown for an unreadable run
    all_is: float | None = None  # the number `all` stands for (train_n, test_n)


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _size(value: int | None, whole: int) -> int:
    return whole if value is None else value


_FIELDS = [
    Field("lr", "number", lambda r: r.config.lr),
    Field("bs", "number", lambda r: r.config.batch_size),
    Field("epochs", "number", lambda r: r.config.epochs),
    Field("mom", "number", lambda r: r.config.momentum),
    Field("wd", "number", lambda r: r.config.weight_decay),
    Field("seed", "number", lambda r: r.config.seed),
    Field("log_every", "number", lambda r: r.config.log_every),
    Field("train_n", "number", lambda r: _size(r.config.train_size, TRAIN_SET_SIZE), all_is=TRAIN_SET_SIZE),
    Field("test_n", "number", lambda r: _size(r.config.test_size, TEST_SET_SIZE), all_is=TEST_SET_SIZE),
    Field("acc", "number", lambda r: _percent(r.final), config=False),
    Field("best", "number", lambda r: _percent(r.best), config=False),
    Field("model", "choice", lambda r: r.config.model, MODELS),
    Field("data", "choice", lambda r: r.config.dataset, DATASETS),
    Field("opt", "choice", lambda r: r.config.optimizer, OPTIMIZERS),
    Field("sched", "choice", lambda r: r.config.schedule, SCHEDULES),
    Field("status", "choice", lambda r: r.status, STATUSES, config=False),
    Field("compile", "choice", lambda r: _on_off(r.config.compile), _ON_OFF),
    Field("tensorboard", "choice", lambda r: _on_off(r.config.tensorboard), _ON_OFF),
    Field("name", "text", lambda r: r.label, config=False),
    Field("sweep", "text", lambda r: r.config.sweep),
    Field("resume", "text", lambda r: r.config.resume or ""),
    Field("reason", "text", lambda r: r.reason, config=False),
    Field("device", "text", lambda r: r.device or r.config.device),
]
FIELDS = {f.name: f for f in _FIELDS}
# The RunConfig names and the words people reach for, besides the table's column titles above.
ALIASES = {
    "batch_size": "bs", "batch": "bs", "momentum": "mom", "weight_decay": "wd", "epoch": "epochs", "ep": "epochs",
    "train_size": "train_n", "test_size": "test_n", "final": "acc", "accuracy": "acc",
    "dataset": "data", "optimizer": "opt", "schedule": "sched", "state": "status", "label": "name",
}


@dataclass(frozen=True)
class Word:
    """A word or quoted phrase: part of the run's name or its status."""

    key: str  # name_key of what was typed

    def matches(self, record: RunRecord) -> bool:
        return self.key in name_key(record.label) or self.key in record.status


@dataclass(frozen=True)
class Condition:
    """`field op value`, the value already checked against the field's kind."""

    field: Field
    op: str
    value: object  # a float for numbers, else a name_key'd string

    def matches(self, record: RunRecord) -> bool:
        if self.field.config and record.status == "unreadable":
            return False  # its configuration is unknown: no made-up defaults (the table leaves it blank)
        actual = self.field.value(record)
        if actual is None:
            return False
        if self.field.kind == "number":
            return _compare(float(actual), self.op, self.value)
        actual = name_key(str(actual))
        if self.field.kind == "choice":
            equal = actual == self.value if self.value in self.field.values else actual.startswith(self.value)
        else:
            equal = self.value in actual
        return equal != (self.op == "!=")


def _compare(actual: float, op: str, wanted: float) -> bool:
    close = math.isclose(actual, wanted, rel_tol=_TOLERANCE, abs_tol=1e-12)
    return {
        "=": close, ":": close, "!=": not close,
        "<": actual < wanted and not close, "<=": actual < wanted or close,
        ">": actual > wanted and not close, ">=": actual > wanted or close,
    }[op]


@dataclass(frozen=True)
class RunFilter:
    """What `/` typed: `text` as typed (shown back to the user), `terms` all of which must hold."""

    text: str = ""
    terms: tuple[Word | Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, record: RunRecord) -> bool:
        return all(term.matches(record) for term in self.terms)


def parse_filter(text: str) -> RunFilter:
    """Read a filter (the grammar is in this module's docstring); raises FilterError on a bad term.

    Blank text is the empty filter: every run matches, and `bool()` of it is False."""
    normal = unicodedata.normalize("NFKC", text)  # full-width `＝`, `＜` and spaces, as a CJK input method types them
    if normal.count('"') % 2:
        raise FilterError(f'`{normal.strip()}`: a quote is not closed; put a phrase in "double quotes"')
    tokens = _TOKEN.findall(normal)
    if (spaced := _spaced_condition(tokens)) is not None:  # else `lr = 0.01` is three words, silently
        raise FilterError(f'`{spaced}`: write a condition without spaces, like lr=0.01 or bs<128 (a phrase goes in "double quotes")')
    return RunFilter(text, tuple(_term(token) for token in tokens))


def _spaced_condition(tokens: list[str]) -> str | None:
    """The terms around an operator with a space on either side (`lr = 0.01`, `lr= 0.01`, `bs <128`),
    or None."""
    for i, token in enumerate(tokens):
        quoted = token.startswith('"') or token.endswith('"')
        if not quoted and ((token[:1] in "=<>:!" and i > 0) or (token[-1:] in "=<>:" and i + 1 < len(tokens))):
            return " ".join(tokens[max(0, i - 1): i + 2])
    return None


def _term(token: str) -> Word | Condition:
    match = _CONDITION.match(token)
    if token.startswith('"') or match is None:
        return Word(name_key(token.replace('"', "")))
    key, op, raw = match.groups()
    name = ALIASES.get(key.lower(), key.lower())
    field = FIELDS.get(name)
    if field is None:
        raise FilterError(f"`{token}`: no field {key}; fields: {', '.join(FIELDS)} "
                          f'(a word with {op} in it goes in "double quotes")')
    value = raw.replace('"', "").strip()
    if not value:
        raise FilterError(f"`{token}`: give a value after {op}")
    if field.kind == "number":
        return Condition(field, op, _number(token, key, field, value))
    if op not in ("=", ":", "!="):
        kind = "text" if field.kind == "text" else f"one of {', '.join(field.values)}"
        raise FilterError(f"`{token}`: {key} is {kind}: use = (or :) or !=, not {op}")
    value = name_key(value)
    if field.kind == "choice" and not any(allowed.startswith(value) for allowed in field.values):
        raise FilterError(f"`{token}`: {key} is one of {', '.join(field.values)}")
    return Condition(field, op, value)


def _number(token: str, key: str, field: Field, text: str) -> float:
    percent = field.name in ("acc", "best")
    text = text.replace("_", "")  # 10_000, as Python and the form take it
    if percent:
        text = text.removesuffix("%")  # `acc>98%`: what the table's title says
    if field.all_is is not None and text.lower() == "all":
        return float(field.all_is)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        unit = " (in percent, e.g. 98.5)" if percent else ""
        raise FilterError(f"`{token}`: {key} needs a number{unit}, got {text!r}")
    return value
