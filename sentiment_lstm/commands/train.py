"""Train a classifier of labeled texts (IMDB's reviews by default) and publish it to a
model directory.

    sentiment-lstm train [--recipe NAME|FILE] [--data PATH] [--limit K] [--epochs N] ...
    sentiment-lstm train --data tickets.csv --text-column body --label-column queue
    sentiment-lstm train --data 20news-bydate.tar.gz --model-dir models/20news

`--data` takes a table (CSV, TSV or JSON lines), a folder of class folders (or an
archive of one; its train/ split if it holds splits), or IMDB's archive or folder;
the classes are the labels the data holds.

Every hyperparameter is a flag; `--help` lists them with their defaults, which live in
`sentiment_lstm/core/config.py`. `--recipe` starts from a recipe of `recipes/` (flags
override it). A run that is killed resumes from its last completed epoch when started
again with the same flags.
"""
import contextlib
import dataclasses

from sentiment_lstm.core import config, layout, lock, recipe, startup
from sentiment_lstm.core.errors import UsageError, UserError
from sentiment_lstm.data import sources

HELP = "train a model and publish it to a model directory"


def add_arguments(parser):
    config.make_parser(parser, recipe_defaults=recipe.load(recipe.DEFAULT))


def run(args):
    try:
        settings = recipe.from_args(args)
    except UserError as error:  # flags fine alone but not together, or a bad recipe
        raise UsageError(str(error)) from None
    # Paths first: a mistake is reported before TensorFlow loads.
    settings = dataclasses.replace(settings, data=sources.locate(settings.data),
                                   val_data=sources.locate(settings.val_data))
    sources.check(settings.data, settings.text_column, settings.label_column)
    sources.check(settings.val_data, settings.text_column, settings.label_column)
    if settings.unlabeled not in (None, sources.NO_UNLABELED):
        sources.check_unlabeled(settings.unlabeled, settings.text_column)
    layout.check_replaceable(settings.output_dir)
    # A second run on this model directory stops here. The workers of a multi-worker job
    # share one directory: its chief takes the lock when it publishes.
    hold = lock.hold(settings.output_dir) if settings.distribute != "multi-worker" else contextlib.nullcontext()
    with hold:
        startup.import_tensorflow()
        from sentiment_lstm.training import loop

        loop.train(settings)  # its last line says where the model went
