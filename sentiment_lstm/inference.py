"""Step 7 of the pipeline: classify raw reviews with a trained model directory.

Example:

>>> import sentiment_lstm
>>> classifier = sentiment_lstm.load("models/imdb_lstm")
>>> classifier.predict(["A wonderful, moving film.", "Dull."])
[{'label': 'positive', 'score': 0.93..., 'known_words': 4}, {'label': 'negative', 'score': 0.88..., 'known_words': 1}]
"""
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm import export, model, serving, streaming, text  # noqa: F401 (model, text: register the Keras objects of model.keras)
from sentiment_lstm.errors import UserError

BATCH_SIZE = 256  # reviews per forward pass
CHUNK = 4096  # reviews read, scored and written at a time by `main`


class SentimentClassifier:
    """An end-to-end model (raw strings -> probabilities) and its class labels.

    Args:
        model: a Keras model mapping a `(batch,)` string tensor to `(batch, 2)`
            probabilities, as built by `model.build_end_to_end`.
        labels: the class names, in the order of the model's outputs.
        config: the `Config` the model was trained with, if known.
    """

    def __init__(self, model, labels, config=None):
        self.model = model
        self.labels = tuple(labels)
        self.config = config
        # The SavedModel's serving function (`serving.py`), traced once for any batch size,
        # also counting each review's known words from the same tokens.
        scores = serving.probabilities_fn(model, with_known=True)
        self._folded = bool(scores.resources)  # the LSTM reads projected inputs (`folding.py`)
        self._scores = tf.function(scores, input_signature=[serving.SIGNATURE])

    def predict_proba(self, texts):
        """Probabilities `(len(texts), 2)` float32, one row per review, in order.

        Reviews go through the model in batches of `BATCH_SIZE` of similar length (by
        characters), so long reviews are not padded into batches of short ones.
        """
        return self._score(list(texts))[0]

    def predict(self, texts):
        """One `{"label": name, "score": probability of that label, "known_words": N}` per
        review, in order. `known_words` (`known_words`) tells "no evidence" (0: the
        score is the model's prior, near 0.5) from a weak opinion."""
        probabilities, known = self._score(list(texts))
        return [{"label": self.labels[k], "score": float(row[k]), "known_words": int(n)}
                for row, k, n in zip(probabilities, probabilities.argmax(axis=1), known)]

    def known_words(self, texts):
        """How many of the tokens the model reads of each review (after its serving clip)
        are in its vocabulary (id > 1: neither padding nor out-of-vocabulary), as an int array."""
        return self._score(list(texts))[1]

    def _score(self, texts):
        """`(probabilities, known words)` of `texts`, a batch of `BATCH_SIZE` at a time."""
        probabilities = np.zeros((len(texts), len(self.labels)), np.float32)
        known = np.zeros(len(texts), np.int64)
        by_length = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), BATCH_SIZE):
            rows = by_length[start:start + BATCH_SIZE]
            batch_probabilities, batch_known = self._scores(tf.constant([texts[k] for k in rows], tf.string))
            probabilities[rows], known[rows] = batch_probabilities.numpy(), batch_known.numpy()
        return probabilities, known

    def warm_up(self, most_rows=None):
        """Compile now what serving compiles when first used: the LSTM's compiled chunks
        for every row count (`rnn.compiled.ROW_SIZES`), about a second each, so no request
        waits for it. `most_rows`: the largest batch that will be scored (a server's
        batch size); the row counts above the one that holds it are left out. A batch of
        alike reviews is cut into one group per side (`serving.SIDES`), so each side runs `rows`."""
        from sentiment_lstm.rnn import compiled

        for rows in compiled.row_sizes(most_rows, projected=self._folded):
            self._score(["A fine film."] * (rows * serving.SIDES))


def load(model_dir):
    """The `SentimentClassifier` saved in `model_dir` by `train.py`.

    Raises:
        UserError: when `model_dir` is not a readable model directory.
    """
    config, saved = export.read_model_dir(model_dir)
    path = Path(model_dir) / export.MODEL_FILE
    try:
        end_to_end = keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise UserError(f"{path} is corrupt or was saved by an incompatible version; "
                        "train the model again.") from error
    return SentimentClassifier(end_to_end, saved["labels"], config)


def read_texts(texts=(), files=(), text_column=None):
    """Reviews from command-line `texts`, then from `files`, as a list (`streaming.iter_records`:
    one review per line, or a table's or JSON lines' `text_column`).

    A file named `-`, or a `-` among `texts`, is stdin. Files are read as bytes and
    decoded as UTF-8 with invalid bytes replaced, so any input gets a prediction.
    """
    return [review for review, _ in streaming.iter_records(texts, files, text_column)]


def main(model_dir, texts=(), files=(), out=None, text_column=None, progress=None):
    """Classify the reviews of `texts` and `files` (`streaming.iter_records`), `CHUNK` at a
    time, so memory stays bounded whatever the size of the input: one JSON prediction
    per line on stdout, or into `out`, written atomically; when the one input is a
    table (`.csv`, `.tsv`), `out` is that table with `label` and `score` columns added.

    Args:
        progress: report progress on stderr (`streaming.Progress`); None: when files
            are read and stderr is a terminal or `out` is given.

    Raises:
        UserError: an input cannot be read (checked before the model is loaded).
    """
    streaming.check_readable(files)
    if progress is None:
        progress = bool(files) and (sys.stderr.isatty() or out is not None)
    classifier = load(model_dir)
    meter = streaming.Progress() if progress else None  # its clock starts once the model is loaded
    records = streaming.iter_records(texts, files, text_column, meter)
    table = out is not None and not texts and len(files) == 1 and streaming.kind(files[0]) == "table"

    def score(stream):
        if table:
            header, _ = streaming.table_header(files[0], text_column)
            writer = streaming.TableWriter(stream, header, streaming.TABLE_SUFFIXES[Path(files[0]).suffix.lower()])
        else:
            writer = streaming.JsonLinesWriter(stream)
        for chunk in streaming.chunks(records, CHUNK):
            writer.write(chunk, classifier.predict([review for review, _ in chunk]))
            if meter is not None:
                meter.update(len(chunk))
        if meter is not None:
            meter.update(0, final=True)

    if out is None:
        return score(sys.stdout)
    with export.atomic_file(out) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as stream:
            score(stream)
