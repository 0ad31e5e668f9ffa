"""Texts (and labels) from tables: CSV or TSV files with a header row, and JSON lines.
The one reader of training data, evaluation data and `predict --file`'s tables.

    reviews.csv     text,label               a header row, then a row per text
    reviews.tsv     the same, tab-separated (also .tab)
    reviews.jsonl   {"text": ..., "label": ...} per line (also .ndjson)

The text is the column (or key) `--text-column`, else the first of `TEXT_COLUMNS` the
header has; the label `--label-column`, else the first of `LABEL_COLUMNS`. Names are
matched without regard to case; in JSON lines, among each object's own keys. Blank
rows are skipped. Pure Python: a command checks a table's columns (`check`) before
TensorFlow loads.

Example:

>>> data = load("../shared/data/trec/train.csv")       # columns question,label,fine_label
>>> data.class_names
('ABBR', 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM')
"""
import csv
import io
import json
import warnings
from pathlib import Path

from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import Dataset

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}  # tables, by suffix
JSON_LINES = (".jsonl", ".ndjson")
TEXT_COLUMNS = ("text", "review", "sentence", "question", "content", "document", "body", "message", "comment")
LABEL_COLUMNS = ("label", "labels", "class", "category", "target", "sentiment", "topic", "intent")

csv.field_size_limit(2**31 - 1)  # a text of any length, not csv's 128 KiB a field


def kind(name):
    """`"table"` (CSV/TSV), `"jsonl"`, or None (not a table), by the file's suffix."""
    suffix = Path(str(name)).suffix.lower()
    return "table" if suffix in DELIMITERS else "jsonl" if suffix in JSON_LINES else None


def open_text(stream):
    """A binary stream as text, UTF-8 (a byte-order mark dropped), invalid bytes replaced."""
    buffered = io.BufferedReader(stream) if isinstance(stream, io.RawIOBase) else stream
    return io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")


def records(text_stream, name, text_column=None, label_column=None):
    """`(text, label, row, line)` per record of the table or JSON lines `text_stream` (the
    file `name`, read by its `kind`): `label` the label's text (None when `label_column`
    is None), `row` a table's whole row (None in JSON lines), `line` its line number.

    Args:
        text_column: the text's column or key; None: the first of `TEXT_COLUMNS`.
        label_column: the label's column or key; None: no label read; `True`: the first
            of `LABEL_COLUMNS`.

    Raises:
        UserError: a missing column, a short row, a bad JSON line or a blank label.
    """
    if kind(name) == "jsonl":
        yield from _json_records(text_stream, name, text_column, label_column)
        return
    rows = csv.reader(text_stream, delimiter=DELIMITERS[Path(name).suffix.lower()])
    try:
        header = next(rows, None)
        if header is None:
            raise UserError(f"The table {name} is empty.")
        text = column(header, text_column, TEXT_COLUMNS, name, "text")
        label = None if label_column is None else column(header, _given(label_column), LABEL_COLUMNS, name, "label")
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(text, -1 if label is None else label):
                raise UserError(f"Line {rows.line_num} of {name} has {len(row)} field(s) "
                                f"but the header has {len(header)}.")
            value = None if label is None else _label(row[label], header[label], rows.line_num, name)
            yield row[text], value, row, rows.line_num
    except csv.Error as error:
        raise UserError(f"{name} is not a well-formed table ({error}).") from error


def _json_records(text_stream, name, text_column, label_column):
    """`records` of JSON lines: each object's text (and label) key found in it, as a table's
    columns are in its header, so objects may differ in their keys' names."""
    labeled, label_column = label_column is not None, _given(label_column)
    first = True
    for number, line in enumerate(text_stream, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise UserError(f"Line {number} of {name} is not JSON ({error}).") from error
        if not isinstance(record, dict):
            raise UserError(f"Line {number} of {name} is not a JSON object.")
        keys = list(record)
        if first:  # a file without the keys is refused naming the keys it has
            column(keys, text_column, TEXT_COLUMNS, name, "text", json_lines=True)
            if labeled:
                column(keys, label_column, LABEL_COLUMNS, name, "label", json_lines=True)
            first = False
        text_key = _find(keys, text_column, TEXT_COLUMNS)
        text = None if text_key is None else record[text_key]
        if not isinstance(text, str):
            raise UserError(f"Line {number} of {name} has no {_wanted(text_key, text_column, TEXT_COLUMNS)} string.")
        value = None
        if labeled:
            label_key = _find(keys, label_column, LABEL_COLUMNS)
            value = _label(None if label_key is None else record[label_key],
                           label_key or label_column or LABEL_COLUMNS[0], number, name)
        yield text, value, None, number


def _given(label_column):
    return None if label_column is True else label_column


def _find(header, wanted, defaults):
    """The name in `header` of the column `wanted` (else the first of `defaults`), matched
    without regard to case, or None."""
    lowered = {}
    for cell in header:
        lowered.setdefault(cell.strip().lower(), cell)
    for candidate in (wanted,) if wanted else defaults:
        if candidate.strip().lower() in lowered:
            return lowered[candidate.strip().lower()]
    return None


def _wanted(found, wanted, defaults):
    """How a message names a column: `found`, else `wanted`, else the first defaults."""
    return repr(found or wanted) if found or wanted else " or ".join(repr(name) for name in defaults[:2]) + " ..."


def column(header, wanted, defaults, name, what, json_lines=False):
    """The index in `header` of the column `wanted` (or of the first of `defaults`), matched
    without regard to case.

    Raises:
        UserError: in one sentence that names the columns the table has.
    """
    found = _find(header, wanted, defaults)
    if found is not None:
        return header.index(found)
    noun, flag = ("key", "JSON lines") if json_lines else ("column", "table")
    has = ", ".join(repr(cell) for cell in header) or "none"
    if wanted:
        raise UserError(f"The {flag} {name} has no {what} {noun} {wanted!r}; its {noun}s are {has}.")
    raise UserError(f"The {flag} {name} has no {what} {noun} (one named {', '.join(defaults[:4])} ...); "
                    f"its {noun}s are {has}: name one with --{what}-column.")


def _label(value, column_name, line, name):
    """A label's text, checked: a string or number (a whole number as an integer: JSON's
    1.0 is the class "1"), not blank."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UserError(f"Line {line} of {name} has no label in {column_name!r}"
                        + ("" if value is None else f" (one label per text, not {type(value).__name__})") + ".")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise UserError(f"Line {line} of {name} has a blank label in {column_name!r}.")
    return text


def header(path):
    """The column names of the table (or the keys of the first JSON line) at `path`."""
    with open(path, "rb") as stream:
        text = open_text(stream)
        if kind(path) == "jsonl":
            first = next((line for line in text if line.strip()), None)
            try:
                record = json.loads(first) if first is not None else {}
            except ValueError as error:
                raise UserError(f"The first line of {path} is not JSON ({error}).") from error
            return list(record) if isinstance(record, dict) else []
        return next(csv.reader(text, delimiter=DELIMITERS[Path(path).suffix.lower()]), [])


def check(path, text_column=None, label_column=None):
    """Check, reading only the header, that the table at `path` has the text column (and,
    with `label_column`, the label column) its reading will look for.

    Raises:
        UserError: a missing, empty or unreadable file, or a missing column.
    """
    path = Path(path).expanduser()
    try:
        columns = header(path)
    except OSError as error:
        raise UserError(f"Cannot read the table {path}: {error.strerror or error}.") from error
    if not columns:
        raise UserError(f"The table {path} is empty.")
    json_lines = kind(path) == "jsonl"
    column(columns, text_column, TEXT_COLUMNS, path, "text", json_lines)
    if label_column is not None:
        column(columns, _given(label_column), LABEL_COLUMNS, path, "label", json_lines)


def load(path, text_column=None, label_column=None):
    """The labeled texts of the table or JSON lines at `path`, in its order.

    Args:
        path: a `.csv`, `.tsv`, `.tab`, `.jsonl` or `.ndjson` file.
        text_column: the text's column (or key); None: the first of `TEXT_COLUMNS`.
        label_column: the label's column (or key); None: the first of `LABEL_COLUMNS`.

    Returns:
        A `Dataset` whose classes are the label column's distinct values (`Dataset.from_names`).

    Raises:
        UserError: a missing or empty file, a missing column, a blank label, a malformed row.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"The table {path} does not exist or is not a file.")
    content = _decoded(path.read_bytes(), path)
    if not content.strip():
        raise UserError(f"The table {path} is empty.")
    texts, names = [], []
    for text, label, _, _ in records(io.StringIO(content, newline=""), path, text_column,
                                     label_column if label_column is not None else True):
        texts.append(text)
        names.append(label)
    if not texts:
        raise UserError(f"The table {path} has a header but no rows.")
    return Dataset.from_names(texts, names, source=str(path))


def _decoded(raw, path):
    """The bytes of the table `path` as text, UTF-8 (a byte-order mark dropped); invalid
    bytes replaced, the lines that had them counted in one warning."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        bad = [number for number, line in enumerate(raw.split(b"\n"), 1) if not _is_utf8(line)]
        warnings.warn(f"{len(bad)} line(s) of {path} (the first: line {bad[0]}) were not valid UTF-8; "
                      "invalid bytes were replaced with U+FFFD.", stacklevel=3)
        return raw.decode("utf-8-sig", errors="replace")


def _is_utf8(raw):
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def load_texts(path, text_column=None):
    """The texts alone of the table or JSON lines at `path` (for unlabeled texts).

    Raises:
        UserError: an unreadable file, a missing column.
    """
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as stream:
            return [text for text, _, _, _ in records(open_text(stream), path, text_column)]
    except OSError as error:
        raise UserError(f"Cannot read the table {path}: {error.strerror or error}.") from error
