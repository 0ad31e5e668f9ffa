"""Texts to classify as a stream, for scoring inputs of any size (`predict`, `explain`):
command-line texts, then files, read a record at a time. Pure Python (no TensorFlow).

    TEXT      a text given on the command line; `-` is stdin, one text per line
    F         a file of texts, one per line (`-`: stdin); bytes decoded as UTF-8,
              invalid bytes replaced, so any input gets a prediction
    F.csv     a table with a header row (`.tsv`: tab-separated); the text is the
              column `--text-column` (default: `text`, `review`, ... see `tables.py`)
    F.jsonl   one JSON object per line; the text is its key `--text-column`

Tables and JSON lines are read by `tables.records`, as training and evaluation read them.

Example:

>>> records = iter_records(["A great film."], ["reviews.csv"], text_column="review")
>>> [text for text, _ in next(chunks(records, 2))]
['A great film.', 'first review of the table']
"""
import io
import os
import sys
from itertools import islice

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data import tables

ADDED_COLUMNS = ("label", "score")  # what a scored table gains


def kind(name):
    """`"table"`, `"jsonl"` or `"lines"`: how file `name` is read (by its suffix)."""
    return tables.kind(name) or "lines"


def iter_records(texts=(), files=(), text_column=None, progress=None):
    """`(text, row)` for each text of command-line `texts`, then of `files`, in order:
    `row` is a table's whole row (a list of strings), else None.

    Args:
        texts: texts; `-` reads stdin's lines.
        files: file names, read by `kind` (`-`: stdin's lines).
        text_column: the text's column or key in tables and JSON lines.
        progress: a `core.progress.Progress`, told how many bytes of each file are read.

    Raises:
        UserError: a file cannot be read, or a table or JSON line has no text.
    """
    for text in texts:
        if text == "-":
            yield from ((line, None) for line in _lines(_open("-")))
        else:
            yield text, None
    for name in files:
        stream = _open(name, progress)
        if kind(name) == "lines":
            yield from ((line, None) for line in _lines(stream))
            continue
        with _reading(stream):
            for text, _, row, _ in tables.records(tables.open_text(stream), name, text_column):
                yield text, row


def chunks(records, size):
    """Consecutive lists of at most `size` items of the iterable `records`, read lazily."""
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def check_inputs(files, text_column=None):
    """Raise `UserError` in one sentence for the first of `files` that cannot be opened, or
    (a table or JSON lines) has no text column: what `iter_records` would meet, found
    before anything heavy loads."""
    for name in files:
        if name != "-":
            _open(name).close()
            if kind(name) != "lines":
                tables.check(name, text_column)


def scored_header(header, classes=()):
    """`header` with the added columns (`label`, `score`, and `score_<class>` for each of
    `classes`), each renamed `predicted_<name>` where the table has that name already (a
    table of labeled texts keeps its own `label`)."""
    lowered = {column.strip().lower() for column in header}
    added = [*ADDED_COLUMNS, *(f"score_{name}" for name in classes)]
    return [*header, *(f"predicted_{name}" if name.lower() in lowered else name for name in added)]


def _open(name, progress=None):
    """A binary stream of file `name` (`-`: stdin) that reports its bytes to `progress`."""
    try:
        if name == "-":
            return sys.stdin.buffer
        if os.path.isdir(name):
            raise UserError(f"Cannot read {name}: it is a folder, not a file of texts.")
        stream = open(name, "rb")
    except OSError as error:
        raise UserError(f"Cannot read {name}: {error.strerror or error}.") from error
    if progress is not None:
        progress.add_bytes_total(os.fstat(stream.fileno()).st_size)
        return _Counted(stream, progress)
    return stream


class _Counted(io.RawIOBase):
    """A binary stream that tells `progress` how many bytes are read from it."""

    def __init__(self, stream, progress):
        self.stream, self.progress = stream, progress

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self.stream.readinto(buffer)
        self.progress.add_bytes_done(count or 0)
        return count

    def close(self):
        self.stream.close()
        super().close()


def _lines(stream):
    """The lines of a binary stream, decoded, without their line ends (`\\n`, `\\r\\n`)."""
    with _reading(stream):
        for raw in io.BufferedReader(stream) if isinstance(stream, io.RawIOBase) else stream:
            yield raw.decode("utf-8", errors="replace").removesuffix("\n").removesuffix("\r")


class _reading:
    """Closes a file stream (never stdin) when its records are read or abandoned."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
