"""The paths a command is given, checked before anything heavy loads.

Each check raises a `UserError` of one sentence, and imports nothing but `pathlib`,
so the commands run them before TensorFlow (seconds to import) and a wrong path is
reported at once. The modules that read these paths later (`data`, `inference`,
`export`) call the same checks, so a mistake gets the same sentence either way.

Example:

>>> model_dir("models/imdb_lstm")      # or UserError: "There is no model directory ..."
PosixPath('models/imdb_lstm')
"""
from pathlib import Path

from sentiment_lstm.core.errors import UserError

TABLE_SUFFIXES = (".csv", ".tsv", ".tab")  # data paths read as a table; others are IMDB copies


def output_dir(path):
    """`path` as a `Path`, if it is a directory or can become one.

    Raises:
        UserError: it is a file.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; choose a directory to write the results into.")
    return path


def is_table(path):
    """Whether data `path` is read as a CSV/TSV table (by its suffix), not as an IMDB copy."""
    return path is not None and Path(path).suffix.lower() in TABLE_SUFFIXES


def existing_data(path):
    """`path` (a table by its suffix, else an IMDB archive or folder) as a `Path`, if it exists.

    Raises:
        UserError: it does not exist (or, for a table, is not a file).
    """
    return existing_table(path) if is_table(path) else existing_imdb(path)


def existing_imdb(path):
    """`path`, an IMDB archive or folder, as a `Path`, if it exists (else `UserError`)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"The IMDB data path {path} does not exist.")
    return path


def existing_table(path):
    """`path`, a table, as a `Path`, if it is a file (else `UserError`)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"The table {path} does not exist or is not a file.")
    return path


def readable_file(name):
    """`name` (`-`: stdin) if it is a file that can be opened for reading.

    Raises:
        UserError: it cannot be read.
    """
    if name != "-":
        try:
            with open(name, "rb"):
                pass
        except OSError as error:
            raise UserError(f"Cannot read {name}: {error.strerror or error}.") from error
    return name
