"""The search space of `sentiment-lstm tune`: the hyperparameters given as lists.

`--units 16,32,64` searches the unit count over three values; a single value
(`--units 64`) fixes it, as `train --units 64` does; a hyperparameter not given keeps
the recipe's value. `--embed-dim`, `--dropout` and `--layers` take lists the same way.
Every value is checked as its `Config` field checks it, so a mistake is one sentence
before TensorFlow loads. Imports nothing heavy.

Example:

>>> list_type("units")("16,32,64")
(16, 32, 64)
>>> grid_size({"units": (16, 32), "dropout": (0.0, 0.5)})
4
>>> describe({"units": 32, "dropout": 0.5})
'units 32, dropout 0.5'
"""
import argparse
import dataclasses
import math

from sentiment_lstm.core import recipe
from sentiment_lstm.core.config import Config, check, flag_name

SEARCHABLE = ("units", "embed_dim", "dropout", "layers")  # in the order trials.csv and the plot name them
STRATEGIES = ("grid", "random", "bayesian", "hyperband")  # KerasTuner's oracles, see search.make_oracle
_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_KINDS = {int: ("whole numbers", "16,32,64"), float: ("numbers", "0.2,0.5")}


def list_type(name):
    """An argparse `type` for the list flag of field `name`: the comma-separated values,
    in order, each checked as the `Config` field checks it; argparse reports a mistake
    (not a number of the field's type, out of range, given twice, none) as `argument
    --units: lists 16 twice`."""

    def parse(text):
        values, problem = _parse(name, text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return values

    parse.__name__ = "list"
    return parse


def _parse(name, text):
    """`(values, None)` of the comma-separated `text` for field `name`, or `(None, what is
    wrong)` as the end of a sentence that starts with the flag."""
    f = _FIELDS[name]
    kind, example = _KINDS[f.type]
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        return None, f"needs at least one value, e.g. {example}"
    values = []
    for item in items:
        try:
            value = f.type(item)
        except ValueError:
            return None, f"takes comma-separated {kind} (e.g. {example}), not {text!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return None, f"takes finite numbers, not {item!r}"
        problem = check(f, value)
        if problem:
            return None, f"takes values that {problem.replace('must be', 'are', 1)}"
        if value in values:
            return None, f"lists {item} twice"
        values.append(value)
    return tuple(values), None


def from_args(args):
    """`(config, space)` of the parsed `tune` flags: `config` is the `Config` that
    `recipe.from_args` makes of every other flag, with the list flags of one value
    applied; `space` is `{field: values}` of those with two or more, in `SEARCHABLE`
    order.

    Raises:
        UserError: a bad recipe, flags that do not go together, or a searched value
            that does not go with the other settings.
    """
    given = vars(args)
    lists = {name: given[name] for name in SEARCHABLE if name in given}
    rest = argparse.Namespace(**{k: v for k, v in given.items() if k not in lists})
    config = recipe.from_args(rest)
    config = dataclasses.replace(config, **{name: values[0] for name, values in lists.items() if len(values) == 1})
    space = {name: values for name, values in lists.items() if len(values) > 1}
    for name, values in space.items():
        for value in values:  # the checks across fields (Config.__post_init__), value by value
            dataclasses.replace(config, **{name: value})
    return config, space


def grid_size(space):
    """The number of combinations of the `space`'s values (1 for an empty space)."""
    return math.prod(len(values) for values in space.values())


def describe(values):
    """`{field: value}` as words for a progress line, e.g. "units 32, dropout 0.5"."""
    if not values:
        return "the recipe's settings"
    return ", ".join(f"{flag_name(name)} {value}" for name, value in values.items())
