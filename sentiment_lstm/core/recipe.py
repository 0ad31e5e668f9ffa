"""Named training recipes: TOML files of `Config` values, in the repository's `recipes/`.

A recipe holds hyperparameters by their `Config` names (`max_length = 400`, or the
flag's spelling, `max-length`), read with Python's `tomllib`. `train.py --recipe best`
(or `--recipe path/to/file.toml`) starts from it, and flags given beside it override
it. A recipe for a data set names it (`data = "trec/train.csv"`: a relative path not
found from the working directory is looked for in the local data folders, see
`data.sources.locate`); `--data` given beside it trains the recipe on other data. The
run options of one run (`--model-dir`, `--limit`) are not a recipe's to set.

Example:

>>> values = load("best")
>>> values["teacher"], values["max_length"]
('nb-lr', 400)
"""
import dataclasses
import importlib.resources
import tomllib
from pathlib import Path

from sentiment_lstm.core.config import Config, check, flag_name
from sentiment_lstm.core.errors import UserError

SOURCE_RECIPES = Path(__file__).resolve().parents[2] / "recipes"  # in a checkout of the repository
RUN_OPTIONS = ("model_dir", "limit", "recipe")  # set per run, never by a recipe
DEFAULT = "default"  # the recipe `train` starts from without --recipe; `plain` is Config's own defaults


def path_of(recipe):
    """The TOML file of `recipe`: a path to a file, or a name in `recipes/`."""
    path = Path(recipe).expanduser()
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise UserError(f"The recipe file {path} does not exist.")
        return path
    named = recipes_dir() / f"{recipe}.toml"
    if not named.is_file():
        raise UserError(f"There is no recipe named {recipe!r}; choose one of {', '.join(names())} "
                        "or give a .toml file.")
    return named


def recipes_dir():
    """The repository's `recipes/`, or the copy an installed package carries
    (`pyproject.toml` installs it as `sentiment_lstm/recipes/`)."""
    if SOURCE_RECIPES.is_dir():
        return SOURCE_RECIPES
    return Path(str(importlib.resources.files("sentiment_lstm") / "recipes"))


def names():
    """The recipes in `recipes/`, by name."""
    return sorted(p.stem for p in recipes_dir().glob("*.toml"))


def load(recipe):
    """`{Config field: value}` of `recipe` (a name or a file), each value checked.

    Raises:
        UserError: no such recipe, unreadable TOML, an unknown key, or a bad value,
            in one sentence naming the key.
    """
    path = path_of(recipe)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"Cannot read the recipe {path}: {getattr(error, 'strerror', None) or error}.") from error
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"The recipe {path} is not valid TOML ({error}).") from error
    fields = {f.name: f for f in dataclasses.fields(Config)}
    values = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in fields or name in RUN_OPTIONS:
            what = "a run option, set on the command line" if name in RUN_OPTIONS else "not a training setting"
            raise UserError(f"The recipe {path} sets {key!r}, which is {what}.")
        values[name] = _value(fields[name], value, key, path)
    return values


def _value(f, value, key, path):
    """`value` as field `f`'s type, range-checked."""
    expected = f.type
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise UserError(f"The recipe {path} sets {key!r} to {value!r}; it must be a {_kind(expected)}.")
    problem = check(f, value)
    if problem:
        raise UserError(f"The recipe {path} sets {key!r} to {value!r}, but --{flag_name(f.name)} {problem}.")
    return value


def _kind(type_):
    return {bool: "boolean (true or false)", int: "whole number", float: "number", str: "string"}[type_]


def from_args(args):
    """The `Config` of command-line `args` parsed by `config.make_parser`'s flags: the
    defaults, replaced by `--recipe`'s values (`load`; without `--recipe`, those of
    `DEFAULT`), replaced by the flags given."""
    names = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in names}
    given["recipe"] = given.get("recipe") or DEFAULT
    return Config(**{**load(given["recipe"]), **given})
