"""Why did the model say that: one review's prediction taken apart, word by word.

`explain(classifier, text)` returns a plain dict (lists, floats, strings, booleans:
ready for `json.dumps`) aligned with the review's own words as the user typed them
(`words.word_spans`), with:

- `attributions`: Integrated Gradients (Sundararajan, Taly & Yan 2017) of the
  predicted class's log-odds F = log p_j - log p_other (the difference of the two
  class scores) with respect to each step's input vector, the input of the recurrent
  layer: the word's embedding and, with `--bigram-dim`/`--trigram-dim`, the vectors of
  the n-grams the word ends, so a word's share includes the phrases it completes. The
  baseline is the same review with every step's input vector zeroed and the padding
  mask kept: same length, no content (a zero token id would be padding, which the
  model skips, and the out-of-vocabulary vector is a learned word like any other).
  The path integral is the midpoint rule over `steps` points, all computed as one
  batch; the attributions then sum to F(x) - F(baseline) up to `completeness_gap`.
  With `--linear-ngrams` each step's weights in the linear branch are exact
  attributions of that branch, which the baseline leaves out.
- `occlusion`: leave one out, p_j(review) - p_j(review with the word replaced by the
  out-of-vocabulary id 1): how much the word held the prediction up.
- `trajectory`: p(positive) after each word read, the classifier head applied to
  the recurrent state at that step (for a bidirectional model, the model run on each
  prefix); its last value is the prediction.
- `gates`: per word, the mean over units of each gate (LSTM i, f, o; GRU z, r) of the
  last recurrent layer (the forward one of a bidirectional pair), `gate_units` the
  per-unit values for a heatmap, `cell_norm` the LSTM cell state's norm and
  `state_norm` that of the output state. Keras' own LSTM (`--cell keras-lstm`) does
  not expose its gates: its result says so in `notes`.

Words past the model's serving length are marked unread (`read`); their attribution
and occlusion are 0, since the model never sees them. Reviews with more than
`MAX_TOKENS` words read are refused (occlusion costs grow with the square of the length).

Example:

>>> result = explain(sentiment_lstm.load("models/imdb_lstm"), "Not good. Not good at all!")
>>> result["label"], result["tokens"][:2], len(result["attributions"])
('negative', ['Not', 'good'], 7)
"""
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from sentiment_lstm import rnn
from sentiment_lstm.core.checks import whole_number
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, ngrams
from sentiment_lstm.text import tokenizer, words

DEFAULT_STEPS = 64  # Riemann points of Integrated Gradients
MAX_TOKENS = 5000  # most read words an explanation covers
OOV = 1  # the out-of-vocabulary token id, which occlusion puts in a word's place
GRADIENT_BUDGET = 1 << 16  # path points x steps per backward pass (bounds its memory)
FORWARD_BUDGET = 1 << 17  # rows x steps per forward batch
GATES = ("i", "f", "o", "z", "r")  # the quantities of `rnn.Recurrent.inspect` that are gates
BASELINE = "every step's input vector zeroed, the padding mask kept"

_EXPLAINERS = weakref.WeakKeyDictionary()  # classifier -> its Explainer, built once


def explain(classifier, text, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS):
    """The explanation of `classifier`'s prediction for one review `text`, a plain dict.

    Args:
        classifier: a `classify.Classifier` (`sentiment_lstm.load`).
        text: the review, a string.
        steps: Riemann points of Integrated Gradients (at least 1).
        gates: include the gates (`gates`, `gate_units`, `cell_norm`, `state_norm`).
        max_tokens: the most read words explained; a longer review is a `UserError`.

    Returns:
        A dict: `label`, `score` (as `classifier.predict` gives them), `probabilities`
        (label -> probability), `tokens` (the words as typed), `offsets` (`[start, end]`
        of each in `text`, code points), `read` (per word: whether the model read it),
        `read_count`, `serve_length` (None: the whole review), `attributions` and
        `occlusion` (per word), `trajectory` (p(positive) after each read word),
        `log_odds` (F(x)), `baseline_log_odds` (F(baseline)), `completeness_gap` (the
        attributions' sum minus their difference), `steps`, `baseline`, `cell`, the
        gates' fields (see the module) and `notes`.

    Raises:
        UserError: `steps` below 1, a non-string `text`, or more than `max_tokens` words read.

    Example:

    >>> result = explain(classifier, "A great film.")
    >>> result["tokens"], len(result["attributions"]), len(result["trajectory"])
    (['A', 'great', 'film'], 3, 3)
    """
    return explainer(classifier).explain(text, steps, gates, max_tokens)


def explain_many(classifier, texts, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS):
    """`[explain(classifier, t, ...) for t in texts]`, with the explainer built once."""
    return [explain(classifier, t, steps, gates, max_tokens) for t in texts]


def explainer(classifier):
    """The `Explainer` of `classifier`, built on first use and kept while it lives."""
    if classifier not in _EXPLAINERS:
        _EXPLAINERS[classifier] = Explainer(classifier)
    return _EXPLAINERS[classifier]


class Explainer:
    """The parts of a trained classifier that an explanation runs, taken out of its token model.

    The token model is Embedding [+ n-gram tables] -> recurrent layer(s) -> [pooling]
    -> Dense [+ linear n-gram branch] (`network.build_token_model`); this class runs the
    same layers from any point: the step input vectors (`inputs`), the class scores
    from them (`recurrent_scores`), the per-step linear branch (`linear_steps`), and
    the state after each step (`trace`). Dropout layers are left out: inference.

    Args:
        classifier: a `classify.Classifier`.

    Raises:
        UserError: a model these parts cannot be found in.
    """

    def __init__(self, classifier):
        token_model, self.vectorizer = network.parts(classifier.model)
        self.labels = tuple(classifier.labels)
        self.positive = self.labels.index("positive") if "positive" in self.labels else 1
        config = classifier.config
        self.cell = config.cell if config is not None else None
        clips = [layer for layer in classifier.model.layers if isinstance(layer, tokenizer.ClipTokens)]
        self.serve_length = clips[0].max_length if clips else None
        layers = {layer.name: layer for layer in token_model.layers}
        try:
            self.embedding = layers["embedding"]
            self.tables = [layers[f"{name}_embedding"] for order, name in ngrams.ORDERS.items()
                           if f"{name}_embedding" in layers]
            self.recurrent = []  # recurrent_0 (or bidirectional_0), recurrent_1, ...
            while names := [n for n in (f"recurrent_{len(self.recurrent)}", f"bidirectional_{len(self.recurrent)}")
                            if n in layers]:
                self.recurrent.append(layers[names[0]])
            self.dense = layers.get("probabilities") if "recurrent_scores" not in layers else layers["recurrent_scores"]
        except KeyError as error:
            raise UserError(f"The model has no layer {error}; it was not built by train.py, "
                            "so it cannot be explained.") from None
        if self.dense is None or not self.recurrent:
            raise UserError("The model has no recurrent layers and softmax layer of train.py's; "
                            "it cannot be explained.")
        self.pools = [layers[n] for n in ("max_pool", "mean_pool") if n in layers]
        self.linear = [layers[n] for n in ("word_weights", "bigram_weights", "trigram_weights") if n in layers]
        self.bidirectional = isinstance(self.recurrent[-1], keras.layers.Bidirectional)
        last = self.recurrent[-1].forward_layer if self.bidirectional else self.recurrent[-1]
        self.inspectable = isinstance(last, rnn.Recurrent)
        self.last = last
        self.width = self.embedding.output_dim + sum(table.output_dim for table in self.tables)
        self._sequences = None if self.inspectable else _sequences_copy(last)
        spec = tf.TensorSpec
        self._scores = tf.function(self.scores, input_signature=[spec([None, None], tf.int32)])
        self._gradients = tf.function(self.path_gradients, input_signature=[
            spec([1, None], tf.int32), spec([None], tf.float32), spec([None], tf.float32), spec([2], tf.float32)])
        self._trace = tf.function(self.trace, input_signature=[spec([1, None], tf.int32)])

    # The model, from each point.

    def inputs(self, tokens):
        """Each step's input to the recurrent layer, `(batch, time, width)`: the word's
        embedding and its n-grams' vectors, concatenated."""
        parts = [self.embedding(tokens)] + [table(tokens) for table in self.tables]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def recurrent_scores(self, x, mask):
        """The class scores (before the softmax) the recurrent part gives step inputs
        `x` `(batch, time, width)` with `mask` `(batch, time)`, `(batch, classes)`."""
        for layer in self.recurrent:
            x = layer(x, mask=mask, training=False)
        if self.pools:
            pooled = [pool(x, mask=mask) for pool in self.pools]
            x = pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)
        return self.head(x)

    def head(self, x):
        """The Dense layer's class scores of review vectors `x` (softmax left out)."""
        return ops.matmul(x, self.dense.kernel) + self.dense.bias

    def linear_steps(self, tokens):
        """`--linear-ngrams`: each step's class weights in the linear branch, `(batch,
        time, classes)`, 0 at padding; zeros for a model without it."""
        if not self.linear:
            return ops.zeros((*ops.shape(tokens), len(self.labels)))
        mask = ops.expand_dims(ops.cast(ops.not_equal(tokens, 0), "float32"), -1)
        return sum(table(tokens) for table in self.linear) * mask

    def scores(self, tokens):
        """The model's class scores of token ids `(batch, time)`, padding 0; their
        softmax is what the model serves."""
        mask = ops.not_equal(tokens, 0)
        recurrent = self.recurrent_scores(self.inputs(tokens), mask)
        return recurrent + ops.sum(self.linear_steps(tokens), axis=1)

    def path_gradients(self, tokens, alphas, weights, direction):
        """On the straight path from the zero baseline to the step inputs x of one review's
        token ids `tokens` `(1, time)`, F = scores . `direction` at `alphas[k] * x`: returns
        `(sum_k weights[k] * grad F(alphas[k] x) . x_t for each step t, F at each point)`,
        `(time,)` and `(points,)`, from one forward and backward pass."""
        x = self.inputs(tokens)[0]  # (time, width)
        scaled = alphas[:, None, None] * x[None]
        masks = ops.ones(ops.shape(scaled)[:2], "bool")
        with tf.GradientTape() as tape:
            tape.watch(scaled)
            f = ops.matmul(self.recurrent_scores(scaled, masks), direction[:, None])[:, 0]
        grads = tape.gradient(f, scaled)  # (points, time, width)
        return ops.sum(ops.tensordot(weights, grads, axes=1) * x, axis=-1), f

    def trace(self, tokens):
        """The state after each step of one review's token ids `(1, time)` (no padding):
        `(quantities, scores)`, quantities the last recurrent layer's named values
        (`rnn.Recurrent.inspect`; `{"h": outputs}` for Keras' layer) `(1, time, units)`,
        scores the class scores after each prefix `(time, classes)` (unidirectional
        models; the scores of the whole review `(1, classes)` for a bidirectional one):
        the last row is the model's prediction."""
        x = self.inputs(tokens)
        for layer in self.recurrent[:-1]:
            x = layer(x, training=False)
        if self.inspectable:
            quantities = self.last.inspect(x)
        else:
            quantities = {"h": self._sequences(x, training=False)}
        if self.bidirectional:  # the scores of the whole review, (1, classes)
            return quantities, self.recurrent_scores(self.inputs(tokens), None) + ops.sum(self.linear_steps(tokens), 1)
        states = quantities["h"][0]  # (time, units)
        if self.pools:  # the pooling of each prefix's outputs
            time = ops.cast(ops.arange(1, ops.shape(states)[0] + 1), "float32")[:, None]
            running = {"max_pool": lambda s: tf.scan(tf.maximum, s), "mean_pool": lambda s: ops.cumsum(s, 0) / time}
            pooled = [running[pool.name](states) for pool in self.pools]
            states = pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)
        return quantities, self.head(states) + ops.cumsum(self.linear_steps(tokens)[0], axis=0)

    # Batched runs.

    def class_scores(self, rows):
        """`scores` of int token rows `(n, time)` (a NumPy array), in batches of at most
        `FORWARD_BUDGET` rows x steps; `(n, classes)` float64."""
        rows = np.asarray(rows, np.int32)
        batch = max(1, FORWARD_BUDGET // max(rows.shape[1], 1))
        return np.concatenate([self._scores(rows[k:k + batch]).numpy() for k in range(0, len(rows), batch)]
                              ).astype(np.float64) if len(rows) else np.zeros((0, len(self.labels)))

    def integrated_gradients(self, ids, predicted, steps):
        """Integrated Gradients of the log-odds of class `predicted` for token ids `ids`
        `(time,)`: `(per-step attributions (time,), F(x), F(baseline))`, the linear
        branch's exact per-step terms included."""
        direction = np.zeros(len(self.labels), np.float32)
        direction[predicted], direction[1 - predicted] = 1.0, -1.0
        tokens = tf.constant(ids[None], tf.int32)
        midpoints = (np.arange(steps, dtype=np.float32) + 0.5) / steps  # the midpoint rule
        alphas = np.concatenate([midpoints, [1.0, 0.0]]).astype(np.float32)  # and F(x), F(baseline) in the batch
        weights = np.concatenate([np.ones(steps), [0.0, 0.0]]).astype(np.float32)
        total, f = np.zeros(len(ids), np.float64), []
        batch = max(1, GRADIENT_BUDGET // len(ids))
        for k in range(0, len(alphas), batch):
            summed, values = self._gradients(tokens, tf.constant(alphas[k:k + batch]), tf.constant(weights[k:k + batch]),
                                             tf.constant(direction))
            total += summed.numpy().astype(np.float64)
            f.extend(values.numpy().tolist())
        f_x, f_base = f[-2], f[-1]
        linear = ops.convert_to_numpy(self.linear_steps(tokens))[0].astype(np.float64) @ direction
        return total / steps + linear, f_x + float(linear.sum()), f_base

    def occlusion(self, ids, predicted, probability):
        """`probability` (p of class `predicted` for `ids`) minus p of that class with each
        step's token replaced by `OOV`, `(time,)`."""
        rows = np.repeat(ids[None], len(ids), axis=0)
        np.fill_diagonal(rows, OOV)
        return probability - softmax(self.class_scores(rows))[:, predicted]

    def prefix_scores(self, ids):
        """The class scores of each prefix of `ids`, run as reviews of their own (for
        bidirectional models, whose state at a step depends on the words after it)."""
        rows = np.tril(np.repeat(ids[None], len(ids), axis=0))
        return self.class_scores(rows)

    # The explanation.

    def tokenize(self, review):
        """`(words, offsets, ids)`: the review's words as typed, their `[start, end]` in it
        (None where the vectorizer split differently, then the standardized tokens),
        and all their token ids, int32."""
        ids = ops.convert_to_numpy(self.vectorizer(tf.constant([review])))[0].astype(np.int32)
        ids = ids[ids != 0]
        spans = words.word_spans(review)
        if len(spans) == len(ids):
            return [review[a:b] for a, b in spans], [list(span) for span in spans], ids
        tokens = tokenizer.standardize(tf.constant([review])).numpy()[0].decode("utf-8").split()
        return tokens, None, ids

    def explain(self, review, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS):
        """See `explain`."""
        steps = whole_number(steps, "The number of integration steps")
        if not isinstance(review, str):
            raise UserError(f"A review to explain must be text, not {type(review).__name__}.")
        typed, offsets, ids = self.tokenize(review)
        read = ids[:self.serve_length] if self.serve_length is not None else ids
        n = len(read)
        if n > max_tokens:
            raise UserError(f"The model reads {n:,} words of this review, more than the {max_tokens:,} "
                            "an explanation covers; explain a shorter review.")
        quantities, prefix = self._trace(tf.constant(read[None])) if n else ({}, None)
        # The prediction: the scores after the last step read (of one padding step without words).
        scores = np.asarray(prefix[-1], np.float64) if n else self.class_scores(np.zeros((1, 1), np.int32))[0]
        probabilities = softmax(scores[None])[0]
        if not np.isfinite(probabilities).all():
            raise UserError("The model gives no prediction for this review (its probabilities are not "
                            "numbers), so there is nothing to explain.")
        predicted = int(np.argmax(probabilities))
        result = {
            "label": self.labels[predicted], "score": float(probabilities[predicted]),
            "probabilities": {label: float(p) for label, p in zip(self.labels, probabilities)},
            "tokens": typed, "offsets": offsets, "read": [k < n for k in range(len(typed))],
            "read_count": n, "serve_length": self.serve_length, "cell": self.cell,
            "steps": steps, "baseline": BASELINE, "notes": [],
        }
        log_odds = float(scores[predicted] - scores[1 - predicted])
        attributions, occluded, trajectory = np.zeros(len(typed)), np.zeros(len(typed)), []
        base_log_odds = log_odds
        if n:
            ig, log_odds, base_log_odds = self.integrated_gradients(read, predicted, steps)
            attributions[:n] = ig
            occluded[:n] = self.occlusion(read, predicted, float(probabilities[predicted]))
            prefix = self.prefix_scores(read) if self.bidirectional else ops.convert_to_numpy(prefix)
            trajectory = softmax(np.asarray(prefix, np.float64))[:, self.positive].tolist()
        result.update({
            "attributions": attributions.tolist(), "occlusion": occluded.tolist(), "trajectory": trajectory,
            "log_odds": log_odds, "baseline_log_odds": base_log_odds,
            "completeness_gap": float(attributions.sum() - (log_odds - base_log_odds)),
        })
        if gates:
            result.update(self.gate_summary(quantities, n))
        return result

    def gate_summary(self, quantities, n):
        """The gates' fields of the result from `trace`'s `quantities` of `n` read steps."""
        names = [q for q in self.last.cell.quantity_names if q in GATES] if self.inspectable else []
        values = {name: ops.convert_to_numpy(q)[0].astype(np.float64).reshape(n, -1)
                  for name, q in quantities.items()} if n else {}
        has_cell = self.inspectable and "c" in self.last.cell.quantity_names
        summary = {
            "gates": {g: values[g].mean(axis=1).tolist() if n else [] for g in names},
            "gate_units": {g: np.round(values[g], 4).tolist() if n else [] for g in names},
            "cell_norm": (np.linalg.norm(values["c"], axis=1).tolist() if n else []) if has_cell else None,
            "state_norm": np.linalg.norm(values["h"], axis=1).tolist() if n else [],
            "gates_layer": self.last.name,
        }
        if not self.inspectable:
            summary["notes"] = ["Keras' LSTM layer does not expose its gates, so there are none to show; "
                                "the attributions, occlusion and trajectory are complete."]
        return summary


def _sequences_copy(layer):
    """A copy of Keras recurrent `layer` returning its output at every step, sharing its
    weights' values (for the state after each step of a layer without `inspect`)."""
    config = {**layer.get_config(), "return_sequences": True, "return_state": False,
              "name": f"{layer.name}_sequences"}
    copy = type(layer).from_config(config)
    copy.build((None, None, layer.cell.kernel.shape[0]))
    copy.set_weights(layer.get_weights())
    return copy


def softmax(scores):
    """Row-wise softmax of class scores `(n, classes)`, float64."""
    scores = np.asarray(scores, np.float64)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
