"""Train the IMDB sentiment classifier and publish it to a model directory.

    sentiment-lstm train [--recipe NAME|FILE] [--data PATH] [--limit K] [--epochs N] ...

Every hyperparameter is a flag; `--help` lists them with their defaults, which live in
`sentiment_lstm/config.py`. `--recipe` starts from a recipe of `recipes/` (flags
override it). A run that is killed resumes from its last completed epoch when started
again with the same flags.
"""
import contextlib

from sentiment_lstm import config, lock, paths, startup
from sentiment_lstm.errors import UsageError, UserError

HELP = "train a model and publish it to a model directory"


def add_arguments(parser):
    config.make_parser(parser)


def run(args):
    try:
        settings = config.from_args(args)
    except UserError as error:  # flags fine alone but not together, or a bad recipe
        raise UsageError(str(error)) from None
    if settings.data is not None:  # paths first: a mistake is reported before TensorFlow loads
        paths.existing_imdb(settings.data)
    paths.check_replaceable(settings.output_dir)
    # A second run on this model directory stops here. The workers of a multi-worker job
    # share one directory: its chief takes the lock when it publishes.
    hold = lock.hold(settings.output_dir) if settings.distribute != "multi-worker" else contextlib.nullcontext()
    with hold:
        startup.import_tensorflow()
        from sentiment_lstm import training

        training.train(settings)  # its last line says where the model went
    if settings.distribute != "none":
        from sentiment_lstm import distributed

        print(f"Published the model to {settings.output_dir}" if distributed.is_chief(settings) else
              f"This worker's part is done; the chief publishes the model to {settings.output_dir}")
