"""The input and output paths a command is given, checked before anything heavy loads.

Each check raises a `UserError` of one sentence that names the path as the user gave
it, and imports nothing but the standard library, so the commands run them before
TensorFlow (seconds to import) and a wrong path is reported at once. The model
directory's checks are `layout.py`'s; data paths are checked by `data/sources.py`.

Example:

>>> output_file("predictions/out.jsonl")   # or UserError: "Cannot write predictions/out.jsonl: ..."
PosixPath('predictions/out.jsonl')
"""
import os
from pathlib import Path

from sentiment_lstm.core.errors import UserError


def output_dir(path):
    """`path` as a `Path`, if it is a directory or can become one.

    Raises:
        UserError: it is a file.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{path} is a file; choose a directory to write the results into.")
    return path


def output_file(path):
    """`path` as a `Path`, if a file can be written there: its folder exists and can be
    written to, and it is not a folder itself (it may exist: it is replaced whole).

    Raises:
        UserError: in one sentence naming `path`.
    """
    given = path
    path = Path(path).expanduser()
    folder = path.parent
    if path.is_dir():
        raise UserError(f"Cannot write {given}: it is a folder; give a file name.")
    if not folder.is_dir():
        raise UserError(f"Cannot write {given}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write {given}: the folder {folder} is not writable.")
    return path


def readable_file(name):
    """`name` (`-`: stdin) if it is a file that can be opened for reading.

    Raises:
        UserError: it cannot be read.
    """
    if name != "-":
        if os.path.isdir(name):
            raise UserError(f"Cannot read {name}: it is a folder, not a file.")
        try:
            with open(name, "rb"):
                pass
        except OSError as error:
            raise UserError(f"Cannot read {name}: {error.strerror or error}.") from error
    return name
