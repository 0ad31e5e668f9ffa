"""Train the IMDB sentiment classifier and publish it to a model directory.

    sentiment-lstm train [--recipe NAME|FILE] [--data PATH] [--limit K] [--epochs N] ...

Every hyperparameter is a flag; `--help` lists them with their defaults, which live in
`sentiment_lstm/config.py`. `--recipe` starts from a recipe of `recipes/` (flags
override it). A run that is killed resumes from its last completed epoch when started
again with the same flags.
"""
from sentiment_lstm import config, startup
from sentiment_lstm.errors import UsageError, UserError

HELP = "train a model and publish it to a model directory"


def add_arguments(parser):
    config.make_parser(parser)


def run(args):
    try:
        settings = config.from_args(args)
    except UserError as error:  # flags fine alone but not together, or a bad recipe
        raise UsageError(str(error)) from None
    startup.import_tensorflow()
    from sentiment_lstm import distributed, training

    training.train(settings)
    if distributed.is_chief(settings):
        print(f"Saved the model to {settings.output_dir}")
    else:  # another worker of --distribute multi-worker
        print(f"This worker's part is done; the chief publishes the model to {settings.output_dir}")
