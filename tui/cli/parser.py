"""The command line's grammar: `mnist-tui [COMMAND] [FLAGS]`, every subcommand and its flags (help
text included). What each command does is in its own module (tui.cli.train, .search, .records,
.lr_find, .dashboard); the search's flags are with it, in tui.cli.search."""

from __future__ import annotations

import argparse

from tui.cli.common import CONFIG_FLAGS, add_config_flags, add_execution_flags, add_json_flag, add_store_flags
from tui.cli.search import add_search_parser


def _add_some_config_flags(parser: argparse.ArgumentParser, flags: tuple[str, ...], suffix=lambda flag: "") -> None:
    """Only these configuration flags (the commands that train no ordinary run take a few)."""
    for flag in flags:
        field, help_text = CONFIG_FLAGS[flag]
        parser.add_argument(flag, dest=field, metavar=field.upper(), help=help_text + suffix(flag))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnist-tui", description="Train and compare networks on MNIST in the terminal.")
    add_store_flags(parser, top=True)
    add_execution_flags(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser("train", help="train one configuration headless, printing the seed's lines")
    sweep = commands.add_parser(
        "sweep",
        help="train a grid: --lr, --batch-size, --optimizer, --model, --schedule and --seed take comma lists",
        description="Train every combination of the comma-separated values (a --seed list repeats the grid per seed), "
        "then print the comparison table, and with repeats mean ± std per configuration.",
    )
    for command in (train, sweep):
        add_config_flags(command)
        add_store_flags(command)
        add_json_flag(command)
    sweep.add_argument("--devices", help="run in parallel, one run per device: all (every GPU) or a list, e.g. cuda:0,cuda:1")
    add_execution_flags(sweep)
    reproduce = commands.add_parser(
        "reproduce",
        help="train the report's two sweeps and print its tables beside ours (mean ± std over seeds)",
        description="Train the report's learning-rate sweep (0.01, 0.001, 0.0001 at batch 64) and batch-size sweep "
        "(32, 64, 128 at lr 0.001): five configurations, once per seed; then print each of its tables with "
        "our mean ± std beside every cell and * where the report's value lies outside our range.",
    )
    reproduce.add_argument("--seeds", default="1,2,3", help="comma list of seeds; each configuration runs once per seed (default 1,2,3)")
    reproduce.add_argument("--epochs", default="5", help="epochs per run (default 5, as the report)")
    _add_some_config_flags(reproduce, ("--train-size", "--test-size", "--device", "--model"),
                           lambda flag: " (to shorten it)" if "size" in flag else "")
    reproduce.add_argument("--devices", help="run in parallel, one run per device: all (every GPU) or a list")
    add_json_flag(reproduce)
    add_execution_flags(reproduce)
    add_store_flags(reproduce)
    add_search_parser(commands)
    runs = commands.add_parser("runs", help="list the stored runs")
    add_store_flags(runs)
    lr_find = commands.add_parser(
        "lr-find",
        help="the learning-rate range test: a rate to train with, from the loss as the rate rises (not a run)",
        description="From the model's initial weights, raise the learning rate exponentially batch by batch and watch the "
        "smoothed training loss; suggest the rate where it falls fastest (Smith 2017; fastai's lr_find). Nothing is recorded.",
    )
    _add_some_config_flags(lr_find, ("--model", "--dataset", "--batch-size", "--optimizer", "--momentum", "--weight-decay", "--seed",
                                     "--device", "--train-size"))
    lr_find.add_argument("--start-lr", default="1e-6", help="the first rate (default 1e-6)")
    lr_find.add_argument("--end-lr", default="1", help="the last rate (default 1)")
    lr_find.add_argument("--batches", default="100", help="batches from the first rate to the last (default 100)")
    add_store_flags(lr_find)
    show = commands.add_parser("show", help="a stored run: config, accuracy per epoch, confusion matrix, misclassified digits")
    show.add_argument("run", metavar="RUN", help="run id (or a unique part of it), or the run's folder")
    show.add_argument("--epoch", type=int, help="the epoch to inspect (default: the last)")
    show.add_argument("--digits", type=int, default=4, help="how many misclassified digits to draw (default 4)")
    add_store_flags(show)
    export = commands.add_parser("export", help="write every stored run's full record as CSV (a row per run)")
    export.add_argument("path", metavar="PATH", help="the CSV file to write, or - for standard output")
    export.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    export.add_argument("--groups", action="store_true", help="one row per configuration instead: mean, std and n over its seeds, per epoch")
    add_store_flags(export)
    return parser
