"""Train the IMDB sentiment classifier and publish it to a model directory.

    python train.py [--data PATH] [--limit K] [--epochs N] [--cell lstm|gru|rnn|keras-lstm] ...

Every hyperparameter is a flag; `python train.py --help` lists them with their
defaults, which live in `sentiment_lstm/config.py`. A run that is killed resumes
from its last completed epoch when started again with the same flags.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads

from sentiment_lstm import cli, config  # noqa: E402
from sentiment_lstm.errors import UserError  # noqa: E402


def main():
    parser = config.make_parser(cli.ArgumentParser(description=__doc__.splitlines()[0]))
    try:
        settings = config.from_args(parser.parse_args())
    except UserError as error:  # flags that are fine alone but not together
        parser.error(str(error))
    from sentiment_lstm import training

    training.train(settings)
    print(f"Saved the model to {settings.output_dir}")


if __name__ == "__main__":
    cli.run(main)
