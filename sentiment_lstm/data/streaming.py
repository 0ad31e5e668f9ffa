"""Reviews in and predictions out as streams, for scoring files of any size: the readers
of `predict`'s inputs, its progress report and its writers. Pure Python (no TensorFlow).

Inputs, each a stream of records (a review and, for a CSV, its whole row):

    TEXT      a review given on the command line; `-` is stdin, one review per line
    F         a file of reviews, one per line (`-`: stdin); bytes decoded as UTF-8,
              invalid bytes replaced, so any input gets a prediction
    F.csv     a table with a header row (`.tsv`: tab-separated); the review is the
              column `--text-column` (default: `text`, else `review`), blank rows skipped
    F.jsonl   one JSON object per line; the review is its key `--text-column`
              (default: `text`, else `review`), blank lines skipped

Example:

>>> records = iter_records(["A great film."], ["reviews.csv"], text_column="review")
>>> [review for review, _ in next(chunks(records, 2))]
['A great film.', 'first review of the table']
"""
import csv
import io
import json
import os
import sys
from itertools import islice
from pathlib import Path

from sentiment_lstm.core.errors import UserError

TEXT_COLUMNS = ("text", "review")  # the default review column, the first present
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
ADDED_COLUMNS = ("label", "score")  # what a scored table gains


def kind(name):
    """`"table"`, `"jsonl"` or `"lines"`: how file `name` is read (by its suffix)."""
    suffix = Path(name).suffix.lower()
    if name != "-" and suffix in TABLE_SUFFIXES:
        return "table"
    if name != "-" and suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    return "lines"


def iter_records(texts=(), files=(), text_column=None, progress=None):
    """`(review, row)` for each review of command-line `texts`, then of `files`, in order:
    `row` is a table's whole row (a list of strings), else None.

    Args:
        texts: reviews; `-` reads stdin's lines.
        files: file names, read by `kind` (`-`: stdin's lines).
        text_column: the review's column or key in tables and JSON lines.
        progress: a `Progress`, told how many bytes of each file are read.

    Raises:
        UserError: a file cannot be read, or a table or JSON line has no review.
    """
    for text in texts:
        if text == "-":
            yield from ((line, None) for line in _lines(_open("-")))
        else:
            yield text, None
    for name in files:
        stream = _open(name, progress)
        if kind(name) == "table":
            yield from _table_records(stream, name, text_column)
        elif kind(name) == "jsonl":
            yield from ((review, None) for review in _jsonl_reviews(stream, name, text_column))
        else:
            yield from ((line, None) for line in _lines(stream))


def chunks(records, size):
    """Consecutive lists of at most `size` items of the iterable `records`, read lazily."""
    records = iter(records)
    while chunk := list(islice(records, size)):
        yield chunk


def check_readable(files):
    """Raise `UserError` in one sentence for the first of `files` that cannot be opened."""
    for name in files:
        if name != "-":
            _open(name).close()


def table_header(name, text_column=None):
    """The header row of table `name` and the index of its review column."""
    with _open(name) as stream:
        rows = csv.reader(_text(stream), delimiter=TABLE_SUFFIXES[Path(name).suffix.lower()])
        header = next(rows, None)
    if header is None:
        raise UserError(f"The table {name} is empty.")
    return header, _column(header, text_column, name)


def scored_header(header):
    """`header` with the added columns, each renamed `predicted_<name>` where the table has
    that name already (a table of labeled reviews keeps its own `label`)."""
    lowered = {column.strip().lower() for column in header}
    return [*header, *(f"predicted_{name}" if name in lowered else name for name in ADDED_COLUMNS)]


def _open(name, progress=None):
    """A binary stream of file `name` (`-`: stdin) that reports its bytes to `progress`."""
    try:
        if name == "-":
            return sys.stdin.buffer
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


def _text(stream):
    return io.TextIOWrapper(stream if not isinstance(stream, io.RawIOBase) else io.BufferedReader(stream),
                            encoding="utf-8-sig", errors="replace", newline="")


def _table_records(stream, name, text_column):
    delimiter = TABLE_SUFFIXES[Path(name).suffix.lower()]
    with _reading(stream):
        rows = csv.reader(_text(stream), delimiter=delimiter)
        try:
            header = next(rows, None)
            if header is None:
                raise UserError(f"The table {name} is empty.")
            column = _column(header, text_column, name)
            for row in rows:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) <= column:
                    raise UserError(f"Line {rows.line_num} of {name} has {len(row)} field(s) "
                                    f"but the header has {len(header)}.")
                yield row[column], row
        except csv.Error as error:
            raise UserError(f"{name} is not a well-formed table ({error}).") from error


def _jsonl_reviews(stream, name, text_column):
    keys = (text_column,) if text_column else TEXT_COLUMNS
    for number, line in enumerate(_lines(stream), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise UserError(f"Line {number} of {name} is not JSON ({error}).") from error
        review = next((record[key] for key in keys if isinstance(record, dict) and key in record), None)
        if not isinstance(review, str):
            wanted = " or ".join(repr(key) for key in keys)
            raise UserError(f"Line {number} of {name} has no {wanted} string to classify.")
        yield review


def _column(header, text_column, name):
    lowered = [column.strip().lower() for column in header]
    for wanted in (text_column,) if text_column else TEXT_COLUMNS:
        if wanted.strip().lower() in lowered:
            return lowered.index(wanted.strip().lower())
    wanted = " or ".join(repr(c) for c in ((text_column,) if text_column else TEXT_COLUMNS))
    raise UserError(f"The table {name} has no {wanted} column (header: {', '.join(header)}); "
                    "choose one with --text-column.")


class _reading:
    """Closes a file stream (never stdin) when its records are read or abandoned."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
