"""Labeled texts from a CSV or TSV table."""
import csv
import io
import warnings

import numpy as np

from sentiment_lstm.core import paths
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.data.dataset import Reviews

_TEXT_COLUMNS = ("text", "review")
_LABEL_COLUMNS = ("label", "sentiment")
_LABEL_VALUES = {"0": 0, "1": 1, "negative": 0, "positive": 1}


def load_table(path):
    """`Reviews` from a CSV or TSV table with a header row.

    The delimiter comes from the extension (`.csv`, `.tsv`), else from sniffing the first
    lines. The header must name a text column (`text` or `review`) and a label column
    (`label` or `sentiment`), case-insensitively; labels are 0/1 or negative/positive.

    Args:
        path: the table file.

    Returns:
        A `Reviews` in the table's row order.

    Raises:
        UserError: missing or empty file, missing columns, bad labels or malformed CSV.
    """
    path = paths.existing_table(path)
    content = _decode_table(path)
    if not content.strip():
        raise UserError(f"The table {path} is empty.")
    try:
        rows = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(path, content))
        header = [name.strip().lower() for name in next(rows)]
        text_col = _column(header, _TEXT_COLUMNS, path)
        label_col = _column(header, _LABEL_COLUMNS, path)
        texts, labels = [], []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(text_col, label_col):
                raise UserError(
                    f"Line {rows.line_num} of {path} has {len(row)} field(s) "
                    f"but the header has {len(header)}."
                )
            texts.append(row[text_col])
            labels.append(_label(row[label_col], rows.line_num, path))
    except csv.Error as exc:
        raise UserError(f"{path} is not a well-formed CSV/TSV table ({exc}).") from exc
    if not texts:
        raise UserError(f"The table {path} has a header but no rows.")
    return Reviews(texts, np.array(labels, dtype=np.int64))


def _decode_table(path):
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.warn(
            f"{path} is not valid UTF-8; invalid bytes were replaced with U+FFFD.", stacklevel=3
        )
        return raw.decode("utf-8-sig", errors="replace")


def _delimiter(path, content):
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    try:
        return csv.Sniffer().sniff(content[:8192], delimiters=",\t;").delimiter
    except csv.Error as exc:
        raise UserError(
            f"Cannot tell whether {path} is comma- or tab-separated; name it .csv or .tsv."
        ) from exc


def _column(header, names, path):
    for name in names:
        if name in header:
            return header.index(name)
    wanted = " or ".join(repr(name) for name in names)
    raise UserError(f"The table {path} has no {wanted} column (header: {', '.join(header)}).")


def _label(value, line, path):
    label = _LABEL_VALUES.get(value.strip().lower())
    if label is None:
        raise UserError(f"Line {line} of {path} has label {value!r}; use 0/1 or negative/positive.")
    return label
