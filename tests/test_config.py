"""config.py: the dataclass, its flags and checks; recipe.py: recipes as TOML files."""
import dataclasses
import json

import pytest

from sentiment_lstm import cli
from sentiment_lstm.core.config import Config, make_parser
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.core.recipe import from_args
from sentiment_lstm.data.imdb import CLASS_NAMES as LABELS


def test_config_json_round_trip():
    config = Config(cell="gru", layers=2, bidirectional=True, limit=100, learning_rate=3e-4)
    saved = config.to_json(vocabulary_size=123, labels=list(LABELS))
    assert json.loads(saved)["vocabulary_size"] == 123
    assert Config.from_json(saved) == config
    assert Config.from_json(saved) != Config()


def test_flags_are_generated_from_the_fields():
    from sentiment_lstm.core import recipe

    parser = make_parser(cli.ArgumentParser())
    default = recipe.load("default")  # what train starts from without --recipe
    assert from_args(parser.parse_args([])) == Config(**default, recipe="default")
    args = parser.parse_args(["--cell", "rnn", "--units", "8", "--bidirectional", "--no-bucket",
                              "--learning-rate", "0.01", "--model-dir", "out"])
    assert from_args(args) == Config(**{**default, "recipe": "default", "cell": "rnn", "units": 8, "bidirectional": True,
                                        "bucket": False, "learning_rate": 0.01, "model_dir": "out"})
    assert from_args(args).output_dir == "out"
    plain = from_args(parser.parse_args(["--recipe", "plain"]))  # the flags' own defaults
    assert plain == Config(recipe="plain", name="imdb_plain")
    assert Config(name="x").output_dir == "models/x"


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "-1"], "error: argument --epochs: must be at least 1, not -1\n"),
    (["--cell", "foo"], "error: argument --cell: must be one of lstm, gru, rnn, keras-lstm, transformer, not 'foo'\n"),
    (["--units", "many"], "error: argument --units: expected int, got 'many'\n"),
    (["--val-fraction", "nan"], "error: argument --val-fraction: must be a finite number, not nan\n"),
])
def test_bad_flag_is_one_line_and_exit_2(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_parser(cli.ArgumentParser()).parse_args(flags)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message


def test_config_checks_values_and_combinations():
    with pytest.raises(UserError, match="--dropout must be at most 0.9, not 1.5"):
        Config(dropout=1.5)
    with pytest.raises(UserError, match="--jit-compile needs --no-deterministic"):
        Config(jit_compile=True)
    with pytest.raises(UserError, match="keras-lstm"):
        Config(jit_compile=True, deterministic=False, cell="keras-lstm")
    assert Config(jit_compile=True, deterministic=False).jit_compile




# --- recipe.py ---------------------------------------------------------------------------


def test_every_recipe_in_recipes_loads_into_a_config():
    from sentiment_lstm.core import recipe

    assert {"default", "best", "gru", "rnn", "keras-lstm"} <= set(recipe.names())
    for name in recipe.names():
        Config(**recipe.load(name))  # checked values, no unknown key


def test_the_transformer_recipe_is_the_default_with_an_encoder_serving_its_training_length():
    """recipes/transformer.toml is what benchmarks/workloads.py's transformer entry trains
    on IMDB (the default recipe, --cell transformer --pooling mean), serving 200 tokens."""
    parse = lambda *argv: from_args(make_parser(cli.ArgumentParser()).parse_args(list(argv)))  # noqa: E731
    by_recipe = parse("--recipe", "transformer")
    by_flags = parse("--recipe", "default", "--cell", "transformer", "--pooling", "mean")
    differ = {f.name for f in dataclasses.fields(Config) if getattr(by_recipe, f.name) != getattr(by_flags, f.name)}
    assert differ == {"recipe", "name", "serve_max_length"}
    assert by_recipe.serve_length == by_recipe.max_length == 200 and by_flags.serve_length is None


def test_best_recipe_is_the_benchmarks_best_flags():
    """recipes/best.toml holds exactly the flags the 91.50% model was trained with."""
    flags = ("--max-length 400 --embed-dim 128 --pretrained-embeddings --dropout 0.6 --embedding-dropout 0.5 "
             "--dense-dropout 0.6 --learning-rate 2e-4 --teacher nb-lr --bigram-dim 16 --trigram-dim 16 "
             "--lr-schedule cosine --epochs 10 --patience 3 --serve-max-length 0 --crops 1").split()
    by_flags = from_args(make_parser(cli.ArgumentParser()).parse_args(["--recipe", "plain", *flags]))
    by_recipe = from_args(make_parser(cli.ArgumentParser()).parse_args(["--recipe", "best"]))
    assert by_recipe.recipe == "best" and by_recipe.name == "imdb_best"
    assert by_recipe == Config(**{**vars(by_flags), "recipe": "best", "name": "imdb_best"})


def test_flags_override_the_recipe_and_the_recipe_overrides_the_defaults(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('units = 32\nmax-length = 50\nbidirectional = true\nlearning_rate = 1\n')
    parser = make_parser(cli.ArgumentParser())
    settings = from_args(parser.parse_args(["--recipe", str(path), "--units", "8", "--no-bidirectional"]))
    assert (settings.units, settings.max_length, settings.bidirectional, settings.learning_rate) == (8, 50, False, 1.0)
    assert settings.embed_dim == Config().embed_dim and settings.recipe == str(path)


@pytest.mark.parametrize("content, message", [
    ("unitz = 3\n", "sets 'unitz', which is not a training setting."),
    ("limit = 5\n", "sets 'limit', which is a run option, set on the command line."),
    ("units = '64'\n", "sets 'units' to '64'; it must be a whole number."),
    ("units = 2.5\n", "sets 'units' to 2.5; it must be a whole number."),
    ("bucket = 1\n", "sets 'bucket' to 1; it must be a boolean (true or false)."),
    ("dropout = 1.5\n", "sets 'dropout' to 1.5, but --dropout must be at most 0.9, not 1.5."),
    ("cell = 'lstm2'\n", "but --cell must be one of lstm, gru, rnn, keras-lstm, transformer, not 'lstm2'."),
    ("units = [\n", "is not valid TOML"),
])
def test_a_bad_recipe_fails_in_one_sentence_naming_the_key(tmp_path, content, message):
    from sentiment_lstm.core import recipe

    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(UserError) as error:
        recipe.load(str(path))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_unknown_recipe_name_lists_the_recipes():
    from sentiment_lstm.core import recipe

    with pytest.raises(UserError, match="There is no recipe named 'fastest'; choose one of 20news, best, default"):
        recipe.load("fastest")
    with pytest.raises(UserError, match="The recipe file missing.toml does not exist."):
        recipe.load("missing.toml")


def test_train_help_shows_the_default_recipes_values():
    """`train --help` names what a run without --recipe gets: the default recipe's value, and
    the flag's own where the recipe sets none or the same."""
    import re

    from sentiment_lstm.commands import train
    from sentiment_lstm.core import recipe

    parser = cli.ArgumentParser()
    train.add_arguments(parser)
    shown = " ".join(parser.format_help().split())
    for name, value in recipe.load("default").items():
        if value != getattr(Config(), name):
            own = "unset" if getattr(Config(), name) is None else getattr(Config(), name)
            assert f"(default: {value} from the default recipe, else {own})" in shown, name
    assert re.search(r"--units UNITS .*?\(default: 64\)", shown)  # the recipe leaves it: the flag's own
