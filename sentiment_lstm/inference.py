"""Step 7 of the pipeline: classify raw reviews with a trained model directory.

Example:

>>> import sentiment_lstm
>>> classifier = sentiment_lstm.load("models/imdb_lstm")
>>> classifier.predict(["A wonderful, moving film.", "Dull."])
[{'label': 'positive', 'score': 0.93...}, {'label': 'negative', 'score': 0.88...}]
"""
import json
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sentiment_lstm import export, model
from sentiment_lstm.errors import UserError

BATCH_SIZE = 256  # reviews per forward pass


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

    def predict_proba(self, texts):
        """Probabilities `(len(texts), 2)` float32, one row per review, in order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        batches = tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string))
        return self.model.predict(batches.batch(BATCH_SIZE), verbose=0)

    def predict(self, texts):
        """One `{"label": name, "score": probability of that label}` per review, in order."""
        probabilities = self.predict_proba(texts)
        return [{"label": self.labels[k], "score": float(row[k])}
                for row, k in zip(probabilities, probabilities.argmax(axis=1))]


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


def read_texts(texts=(), files=()):
    """Reviews from command-line `texts`, then from `files` (one review per line).

    A file named `-`, or a `-` among `texts`, is stdin. Files are read as bytes and
    decoded as UTF-8 with invalid bytes replaced, so any input gets a prediction.
    """
    reviews = []
    for name in texts:
        reviews.extend(read_lines("-") if name == "-" else [name])
    for name in files:
        reviews.extend(read_lines(name))
    return reviews


def read_lines(name):
    """The lines of file `name` (`-`: stdin), without their line ends."""
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as error:
        raise UserError(f"Cannot read {name}: {error.strerror or error}.") from error
    lines = raw.decode("utf-8", errors="replace").split("\n")
    if lines[-1] == "":  # the line end of the last line
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def main(model_dir, texts=(), files=()):
    """Print one JSON prediction per review of `read_texts(texts, files)`, one per line."""
    reviews = read_texts(texts, files)
    for prediction in load(model_dir).predict(reviews):
        print(json.dumps(prediction))
