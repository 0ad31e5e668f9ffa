"""The boundary between the scripts and the package: flags in, one-sentence errors out.

A mistake the user can fix (a bad flag, a missing path, a corrupt model directory)
ends the script with `error: <one sentence>` on stderr and a non-zero exit status,
without a traceback. Any other exception is a bug and propagates as usual.
"""
import argparse
import sys

from sentiment_lstm.errors import UserError

USAGE_ERROR = 2  # a bad command line, as argparse reports it
RUN_ERROR = 1  # a good command line that cannot be carried out


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line: `error: <message>`."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"error: {message}\n")


def positive_int(text):
    """An argparse `type`: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


positive_int.__name__ = "int"  # argparse names the type in its messages


def run(main):
    """Call `main()`; report a `UserError` or unreadable file in one sentence and exit."""
    quiet_logs()
    try:
        main()
    except UserError as error:
        _fail(str(error))
    except OSError as error:  # e.g. a disk full or a permission denied while writing
        where = f" ({error.filename})" if error.filename else ""
        _fail(f"{error.strerror or error}{where}.")
    except KeyboardInterrupt:
        _fail("Interrupted.", status=130)


def _fail(sentence, status=RUN_ERROR):
    print(f"error: {sentence}", file=sys.stderr)
    sys.exit(status)


def quiet_logs():
    """Keep TensorFlow's Python-side (absl) logging to errors, so stderr holds our sentence."""
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
