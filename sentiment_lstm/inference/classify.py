"""Step 7 of the pipeline: classify raw reviews with a trained model directory.

Example:

>>> import sentiment_lstm
>>> classifier = sentiment_lstm.load("models/imdb_lstm")
>>> classifier.predict(["A wonderful, moving film.", "Dull."])
[{'label': 'positive', 'score': 0.93..., 'scores': {'negative': 0.06..., 'positive': 0.93...}, 'known_words': 4}, ...]
"""
import contextlib
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import sentiment_lstm.model  # noqa: F401 (registers the Keras objects of model.keras)
from sentiment_lstm.core import layout
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.inference import serving
from sentiment_lstm.rnn import compiled

BATCH_SIZE = 256  # texts per forward pass


class Classifier:
    """An end-to-end model (raw strings -> probabilities) and its class labels.

    Args:
        model: a Keras model mapping a `(batch,)` string tensor to `(batch, classes)`
            probabilities, as built by `network.build_end_to_end`.
        labels: the class names, in the order of the model's outputs.
        config: the `Config` the model was trained with, if known.
        eager: run the serving function eagerly, its recurrence never in compiled chunks
            (`compiled.off`): for a few texts scored once (the command line's), where
            tracing it and XLA's compiles (seconds) cost more than they save.
    """

    def __init__(self, model, labels, config=None, eager=False):
        self.model = model
        self.labels = tuple(labels)
        self.config = config
        self.eager = eager
        # The SavedModel's serving function (`serving.py`), traced once for any batch size
        # (unless eager), also counting each text's known words from the same tokens.
        with self._compiling():
            scores = serving.probabilities_fn(model, with_known=True)
        self._folded = bool(scores.resources)  # the LSTM reads projected inputs (`folding.py`)
        self._scores = scores if eager else tf.function(scores, input_signature=[serving.SIGNATURE])

    def _compiling(self):
        """The context the serving function runs in: `compiled.off()` when eager."""
        return compiled.off() if self.eager else contextlib.nullcontext()

    def predict_proba(self, texts):
        """Probabilities `(len(texts), classes)` float32, one row per text, in order, the
        columns in the order of `labels`.

        Texts go through the model in batches of `BATCH_SIZE` of similar length (by
        characters), so long texts are not padded into batches of short ones.
        """
        return self._score(list(texts))[0]

    def predict(self, texts, top_k=None):
        """One `{"label": name, "score": its probability, "scores": {name: probability},
        "known_words": N}` per text, in order: the most probable class, and every class's
        probability in the order of `labels` (with `top_k`, the `top_k` most probable, most
        probable first). `known_words` (`known_words`) tells "no evidence" (0: the scores
        are the model's prior) from a weak opinion."""
        probabilities, known = self._score(list(texts))
        predictions = []
        for row, n in zip(probabilities, known):
            best = int(row.argmax())
            shown = range(len(self.labels)) if top_k is None else np.argsort(-row, kind="stable")[:top_k]
            predictions.append({"label": self.labels[best], "score": float(row[best]),
                                "scores": {self.labels[k]: float(row[k]) for k in shown}, "known_words": int(n)})
        return predictions

    def known_words(self, texts):
        """How many of the tokens the model reads of each text (after its serving clip)
        are in its vocabulary (id > 1: neither padding nor out-of-vocabulary), as an int array."""
        return self._score(list(texts))[1]

    def _score(self, texts):
        """`(probabilities, known words)` of `texts`, a batch of `BATCH_SIZE` at a time."""
        probabilities = np.zeros((len(texts), len(self.labels)), np.float32)
        known = np.zeros(len(texts), np.int64)
        by_length = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), BATCH_SIZE):
            rows = by_length[start:start + BATCH_SIZE]
            with self._compiling():
                batch_probabilities, batch_known = self._scores(tf.constant([texts[k] for k in rows], tf.string))
            probabilities[rows], known[rows] = batch_probabilities.numpy(), batch_known.numpy()
        return probabilities, known

    def warm_up(self, most_rows=None):
        """Compile now what serving compiles when first used: the LSTM's compiled chunks
        for every row count (`rnn.compiled.ROW_SIZES`), about a second each, so no request
        waits for it. `most_rows`: the largest batch that will be scored (a server's
        batch size); the row counts above the one that holds it are left out. A batch of
        alike texts is cut into one group per side (`serving.SIDES`), so each side runs `rows`.
        An eager classifier compiles nothing: nothing to do."""
        if self.eager:
            return
        for rows in compiled.row_sizes(most_rows, projected=self._folded):
            self._score(["A fine film."] * (rows * serving.SIDES))


def load(model_dir, eager=False):
    """The `Classifier` saved in `model_dir` by `sentiment-lstm train` (`eager`: see `Classifier`).

    Raises:
        UserError: when `model_dir` is not a readable model directory.
    """
    config, saved = layout.read(model_dir)
    path = Path(model_dir) / layout.MODEL_FILE
    try:
        end_to_end = keras.saving.load_model(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise UserError(f"{path} is corrupt or was saved by an incompatible version; "
                        "train the model again.") from error
    return Classifier(end_to_end, saved["labels"], config, eager=eager)
