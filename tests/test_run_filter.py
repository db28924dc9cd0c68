"""The filter `/` reads (core.comparison.run_filter): words, each kind of condition, and a message, not a crash,
for every term it cannot read. Records made in memory: no runs folder, no training."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.runstore.results import RunRecord
from core.comparison.run_filter import FilterError, parse_filter

pytestmark = pytest.mark.timeout(30)


def run(run_id: str, status: str = "done", accuracies=(97.0, 98.5), **config) -> RunRecord:
    return RunRecord(run_id, RunConfig(**config), status=status, accuracies={e: a / 100 for e, a in enumerate(accuracies, start=1)})


RUNS = [
    run("a", lr=0.01, batch_size=64, accuracies=(98.12, 99.10)),
    run("b", lr=0.010000000000000002, batch_size=128, accuracies=(97.0, 97.9)),  # 0.01 as arithmetic stores it
    run("c", lr=0.001, batch_size=32, model="mlp", optimizer="adam", name="Amélie's mlp"),
    run("d", status="failed", lr=9.0, name="too hot", accuracies=()),
    run("e", status="running", lr=0.0001, batch_size=256, schedule="cosine", train_size=6400, accuracies=(88.0,)),
    RunRecord("f", RunConfig(name="f"), status="unreadable", message="config.json is a FIFO, not a file"),
]
RUNS[3].message = "loss became NaN at epoch 1, batch 100: try a lower learning rate"


def found(text: str) -> list[str]:
    rule = parse_filter(text)
    return [r.run_id for r in RUNS if rule.matches(r)]


def error(text: str) -> str:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    return str(caught.value)


def test_blank_matches_every_run_and_is_false():
    assert found("") == found("   ") == list("abcdef")
    assert not parse_filter("  ") and parse_filter("lr<1")


def test_a_word_is_part_of_the_name_or_the_status_in_any_case_and_unicode_form():
    assert found("HOT") == ["d"]
    assert found("ame\u0301lie") == ["c"]  # a combining accent finds the precomposed é
    assert found("ＭＬＰ") == ["c"]  # full-width letters, as a CJK input method types them
    assert found("failed") == ["d"]
    assert found("lr=0.01") != found("cnn")  # a condition, not a word
    assert found("cnn bs=64") == ["a"]  # an unnamed run's name is its label


def test_a_quoted_phrase_keeps_its_spaces_and_its_colons():
    assert found('"too hot"') == ["d"]
    assert found('"hot too"') == []
    assert found("\"amélie's\"") == found("amélie's") == ["c"]  # an apostrophe is no quote
    assert found('name="TOO HOT"') == ["d"]


def test_numbers_compare_with_a_relative_tolerance():
    assert found("lr=0.01") == ["a", "b"]
    assert found("lr:1e-2") == ["a", "b"]
    assert found("lr!=0.01") == ["c", "d", "e"]  # the unreadable run has no configuration to compare
    assert found("lr<0.01") == ["c", "e"]  # strict: 0.010000000000000002 is not above 0.01
    assert found("lr<=0.01") == ["a", "b", "c", "e"]
    assert found("lr>0.01") == ["d"]


def test_batch_size_and_the_other_config_numbers():
    assert found("bs<128") == ["a", "c", "d"]
    assert found("batch_size>=128") == ["b", "e"]
    assert found("train_n<10000") == ["e"]
    assert found("train_n=all") == ["a", "b", "c", "d"]
    assert found("epochs=5 seed=1 mom=0.9 wd=0") == list("abcde")


def test_accuracy_in_percent_final_and_best():
    assert found("acc>98") == ["a", "c"]
    assert found("acc>=97.9") == ["a", "b", "c"]
    assert found("best>99%") == ["a"]
    assert found("final<90") == ["e"]  # the running run's accuracy so far
    assert found("acc=99.1") == ["a"]  # 0.991 * 100 is 99.10000000000001
    assert "d" not in found("acc<100") + found("acc!=50")  # no accuracy yet: no match either way


def test_status_model_and_the_other_fixed_fields_take_a_value_or_its_start():
    assert found("status:failed") == found("status:FAIL") == found("state=fail") == ["d"]
    assert found("status!=done") == ["d", "e", "f"]
    assert found("model:mlp") == ["c"]
    assert found("model!=mlp") == ["a", "b", "d", "e"]
    assert found("opt=adam") == found("optimizer:adam") == ["c"]
    assert found("sched:cos") == ["e"]
    assert found("compile=off data:mnist") == list("abcde")


def test_text_fields_contain_the_value():
    assert found("reason:nan") == ["d"]
    assert found("reason:fifo") == ["f"]
    assert found("name:hot") == ["d"]
    assert found("name!=cnn") == ["c", "d", "f"]


def test_terms_are_all_required():
    assert found("lr=0.01 acc>98") == ["a"]
    assert found("lr=0.01 acc>98 mlp") == []


@pytest.mark.parametrize("text, says", [
    ("bs<abc", "`bs<abc`: bs needs a number"),
    ("lr=nan", "`lr=nan`: lr needs a number"),
    ("acc>high", "acc needs a number (in percent"),
    ("foo=1", "`foo=1`: no field foo; fields: lr, bs"),
    ("name<abc", "`name<abc`: name is text: use = (or :) or !=, not <"),
    ("model>cnn", "model is one of cnn, mlp"),
    ("model:xyz", "`model:xyz`: model is one of cnn, mlp"),
    ("status:gone", "status is one of queued, running, done"),
    ("lr=", "`lr=`: give a value after ="),
    ('"too hot', "a quote is not closed"),
])
def test_a_bad_term_gets_a_message_naming_it_and_what_is_allowed(text, says):
    assert says in error(text)


def test_a_colon_after_something_that_is_no_key_is_part_of_a_word_and_quotes_make_any_word():
    assert found("12:30") == []  # no key starts with a digit: a word
    assert 'goes in "double quotes"' in error("v2:final")
    assert found('"v2:final"') == []


def test_a_condition_typed_with_spaces_is_refused_not_read_as_words():
    for typed in ("lr = 0.01", "lr= 0.01", "lr =0.01", "bs <128", "fast lr = 0.01"):
        with pytest.raises(FilterError, match="without spaces"):
            parse_filter(typed)
    assert parse_filter('"a = b"')  # a quoted phrase may have them
