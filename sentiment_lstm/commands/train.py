"""Train the IMDB sentiment classifier and publish it to a model directory.

    sentiment-lstm train [--recipe NAME|FILE] [--data PATH] [--limit K] [--epochs N] ...

Every hyperparameter is a flag; `--help` lists them with their defaults, which live in
`sentiment_lstm/config.py`. `--recipe` starts from a recipe of `recipes/` (flags
override it). A run that is killed resumes from its last completed epoch when started
again with the same flags.
"""
import contextlib

from sentiment_lstm.core import config, layout, lock, paths, recipe, startup
from sentiment_lstm.core.errors import UsageError, UserError

HELP = "train a model and publish it to a model directory"


def add_arguments(parser):
    config.make_parser(parser)


def run(args):
    try:
        settings = recipe.from_args(args)
    except UserError as error:  # flags fine alone but not together, or a bad recipe
        raise UsageError(str(error)) from None
    if settings.data is not None:  # paths first: a mistake is reported before TensorFlow loads
        paths.existing_imdb(settings.data)
    layout.check_replaceable(settings.output_dir)
    # A second run on this model directory stops here. The workers of a multi-worker job
    # share one directory: its chief takes the lock when it publishes.
    hold = lock.hold(settings.output_dir) if settings.distribute != "multi-worker" else contextlib.nullcontext()
    with hold:
        startup.import_tensorflow()
        from sentiment_lstm.training import loop

        loop.train(settings)  # its last line says where the model went
