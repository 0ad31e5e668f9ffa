"""Score texts from the command line and files of any size, a chunk at a time, into
JSON lines or a copy of the table with the predictions added (`predict --file`)."""
import csv
import json
import sys
from pathlib import Path

from sentiment_lstm.core import progress as progress_lines
from sentiment_lstm.core.files import atomic_file
from sentiment_lstm.data import streaming, tables
from sentiment_lstm.inference import classify

CHUNK = 4096  # texts read, scored and written at a time by `main`


def read_texts(texts=(), files=(), text_column=None):
    """Texts from command-line `texts`, then from `files`, as a list (`streaming.iter_records`:
    one text per line, or a table's or JSON lines' `text_column`).

    A file named `-`, or a `-` among `texts`, is stdin. Files are read as bytes and
    decoded as UTF-8 with invalid bytes replaced, so any input gets a prediction.
    """
    return [text for text, _ in streaming.iter_records(texts, files, text_column)]


def main(model_dir, texts=(), files=(), out=None, text_column=None, progress=None, top_k=None,
         all_scores=False):
    """Classify the texts of `texts` and `files` (`streaming.iter_records`), `CHUNK` at a
    time, so memory stays bounded whatever the size of the input: one JSON prediction
    per line on stdout, or into `out`, written atomically; when the one input is a
    table (`.csv`, `.tsv`), `out` is that table with `label` and `score` columns added.

    Args:
        top_k: keep the `top_k` most probable classes in each prediction's `scores`
            (`classify.Classifier.predict`); None: every class.
        all_scores: a table `out` also gets a `score_<class>` column per class, in the
            order of the model's classes.
        progress: report progress on stderr (`core.progress.Progress`); None: when files
            are read and stderr is a terminal or `out` is given.

    Raises:
        UserError: an input cannot be read (checked before the model is loaded).
    """
    streaming.check_inputs(files, text_column)
    if progress is None:
        progress = bool(files) and (sys.stderr.isatty() or out is not None)
    # Texts from the command line alone: a one-off call, run eagerly (`classify.Classifier`).
    classifier = classify.load(model_dir, eager=not files and "-" not in texts)
    meter = progress_lines.Progress() if progress else None  # its clock starts once the model is loaded
    records = streaming.iter_records(texts, files, text_column, meter)
    table = out is not None and not texts and len(files) == 1 and streaming.kind(files[0]) == "table"

    def score(stream):
        if table:
            writer = TableWriter(stream, tables.header(files[0]), tables.DELIMITERS[Path(files[0]).suffix.lower()],
                                 classifier.labels if all_scores else ())
        else:
            writer = JsonLinesWriter(stream)
        for chunk in streaming.chunks(records, CHUNK):
            writer.write(chunk, classifier.predict([text for text, _ in chunk], top_k=top_k))
            if meter is not None:
                meter.update(len(chunk))
        if meter is not None:
            meter.update(0, final=True)

    if out is None:
        return score(sys.stdout)
    with atomic_file(out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as stream:
            score(stream)


class JsonLinesWriter:
    """Writes one prediction (`classify.Classifier.predict`'s dict) per line, as JSON, to a text stream."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, records, predictions):
        for prediction in predictions:
            self.stream.write(json.dumps(prediction) + "\n")
        self.stream.flush()


class TableWriter:
    """Writes a table's rows with the prediction's label and score added (and the
    probability of each of `classes`), after its header (`scored_header`), with the
    table's delimiter."""

    def __init__(self, stream, header, delimiter=",", classes=()):
        self.writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
        self.writer.writerow(streaming.scored_header(header, classes))
        self.stream = stream
        self.classes = tuple(classes)

    def write(self, records, predictions):
        for (_, row), prediction in zip(records, predictions):
            scores = [f"{prediction['scores'][name]:.6f}" for name in self.classes]
            self.writer.writerow([*row, prediction["label"], f"{prediction['score']:.6f}", *scores])
        self.stream.flush()
