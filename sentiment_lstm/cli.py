"""The `sentiment-lstm` command, and the boundary between it and the package: flags
in, one-sentence errors out.

    sentiment-lstm train --recipe best         (also: python train.py ...)
    sentiment-lstm evaluate --model-dir DIR    (also: python evaluate.py ...)
    sentiment-lstm predict --model-dir DIR "A great film."
    sentiment-lstm explain --model-dir DIR "A great film."    (also: python explain.py ...)
    sentiment-lstm serve --model-dir DIR       (also: python serve.py ...)
    sentiment-lstm tune --units 16,32,64 --folds 5 --out DIR

Each subcommand is a module of `sentiment_lstm.commands` with `add_arguments(parser)`
and `run(args)`; the top-level scripts call the same `main`. Parsing and checking the
flags loads no TensorFlow, so `--help`, `--version` and every flag error answer at once.

A mistake the user can fix (a bad flag, a missing path, a corrupt model directory)
ends the command with `error: <one sentence>` on stderr and a non-zero exit status,
without a traceback. Any other exception is a bug and propagates as usual.
"""
import argparse
import os
import sys

import sentiment_lstm
from sentiment_lstm.commands import evaluate, explain, predict, serve, train, tune
from sentiment_lstm.core.errors import UsageError, UserError

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "explain": explain,
            "serve": serve, "tune": tune}  # name -> module
USAGE_ERROR = 2  # a bad command line, as argparse reports it
RUN_ERROR = 1  # a good command line that cannot be carried out


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line: `error: <message>`."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"error: {message}\n")


def make_parser():
    """The `sentiment-lstm` parser, one subparser per command."""
    parser = ArgumentParser(prog="sentiment-lstm", description=sentiment_lstm.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sentiment-lstm {sentiment_lstm.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                       parser_class=ArgumentParser)
    for name, command in COMMANDS.items():
        command.add_arguments(subparsers.add_parser(name, help=command.HELP, description=command.__doc__))
    return parser


def main(argv=None, command=None):
    """Run `sentiment-lstm [COMMAND] ARGS`; with `command`, that subcommand's ARGS alone
    (`train.py` is `main(command="train")`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs; set before it loads
    if command is not None:
        parser = ArgumentParser(prog=f"{command}.py", description=COMMANDS[command].__doc__)
        COMMANDS[command].add_arguments(parser)
    else:
        parser = make_parser()
    args = parser.parse_args(argv)
    name = command or args.command
    run(lambda: COMMANDS[name].run(args))


def run(main):
    """Call `main()`; report a `UserError` or unreadable file in one sentence and exit
    (status 2 for a `UsageError`, a bad command line, else 1)."""
    quiet_logs()
    try:
        main()
    except UserError as error:
        _fail(str(error), USAGE_ERROR if isinstance(error, UsageError) else RUN_ERROR)
    except OSError as error:  # e.g. a disk full or a permission denied while writing
        where = f" ({error.filename})" if error.filename else ""
        _fail(f"{error.strerror or error}{where}.")
    except KeyboardInterrupt:
        _fail("Interrupted.", status=130)


def _fail(sentence, status=RUN_ERROR):
    print(f"error: {sentence}", file=sys.stderr)
    sys.exit(status)


def quiet_logs():
    """Keep TensorFlow's Python-side (absl) logging to errors, once TensorFlow loads,
    so stderr holds our sentence."""
    try:
        import absl.logging
    except ImportError:
        return
    absl.logging.set_verbosity(absl.logging.ERROR)
