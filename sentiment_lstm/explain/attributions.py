"""Why did the model say that: one review's prediction taken apart, word by word.

`explain(classifier, text)` returns a plain dict (lists, floats, strings, booleans:
ready for `json.dumps`) aligned with the review's own words as the user typed them
(`words.word_spans`), with:

- `attributions`: Integrated Gradients (Sundararajan, Taly & Yan 2017) of the target
  class's log-odds against the rest, F = log p_k - log(1 - p_k) = s_k - logsumexp of
  the other classes' scores s_j (with two classes, the difference of the two scores),
  the target k being the predicted class unless `target` names another, with respect
  to each step's input vector, the input of the recurrent
  layer: the word's embedding and, with `--bigram-dim`/`--trigram-dim`, the vectors of
  the n-grams the word ends, so a word's share includes the phrases it completes. The
  baseline is the same review with every step's input vector zeroed and the padding
  mask kept: same length, no content (a zero token id would be padding, which the
  model skips, and the out-of-vocabulary vector is a learned word like any other).
  The path integral is the midpoint rule over `steps` points, all computed as one
  batch; the attributions then sum to F(x) - F(baseline) up to `completeness_gap`.
  With `--linear-ngrams` the linear branch's per-step class weights are on the path
  too (scaled with the step inputs, 0 at the baseline), so each step's share of that
  branch is in its attribution; with two classes, exactly its weights' difference.
- `occlusion`: leave one out, p_k(review) - p_k(review with the word replaced by the
  out-of-vocabulary id 1): how much the word held the target class up.
- `trajectories`: every class's probability after each word read, the classifier
  head applied to the recurrent state at that step (for a bidirectional model, the
  model run on each prefix); their last values are the prediction. `trajectory` is
  one of them: p(positive) (the second class) for a two-class model, else the target's.
- `attention` (models with `--pooling attention` only): per word, its weight a_t in the
  attention pooling of the text vector (0 for words not read); a second view, not an
  attribution (Jain & Wallace 2019): `benchmarks/attention_agreement.py` measures how
  far it agrees with Integrated Gradients.
- `gates`: per word, the mean over units of each gate (LSTM i, f, o; GRU z, r) of the
  last recurrent layer (the forward one of a bidirectional pair), `gate_units` the
  per-unit values for a heatmap, `cell_norm` the LSTM cell state's norm and
  `state_norm` that of the output state. Keras' own LSTM (`--cell keras-lstm`) does
  not expose its gates, and a Transformer (`--cell transformer`) has none: their results
  say so in `notes`; a Transformer's step inputs are those of its first block, before
  the positions are added, and its trajectory is the model run on each prefix.

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
from scipy import special

from sentiment_lstm import rnn
from sentiment_lstm.core.checks import whole_number
from sentiment_lstm.core.errors import UserError
from sentiment_lstm.model import network, ngrams, pooling
from sentiment_lstm.text import tokenizer, words

DEFAULT_STEPS = 64  # Riemann points of Integrated Gradients
MAX_TOKENS = 5000  # most read words an explanation covers
OOV = 1  # the out-of-vocabulary token id, which occlusion puts in a word's place
GRADIENT_BUDGET = 1 << 16  # path points x steps per backward pass (bounds its memory)
FORWARD_BUDGET = 1 << 17  # rows x steps per forward batch
GATES = ("i", "f", "o", "z", "r")  # the quantities of `rnn.Recurrent.inspect` that are gates
BASELINE = "every step's input vector zeroed, the padding mask kept"

_EXPLAINERS = weakref.WeakKeyDictionary()  # classifier -> its Explainer, built once


def explain(classifier, text, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS, target=None):
    """The explanation of `classifier`'s prediction for one review `text`, a plain dict.

    Args:
        classifier: a `classify.Classifier` (`sentiment_lstm.load`).
        text: the review, a string.
        steps: Riemann points of Integrated Gradients (at least 1).
        gates: include the gates (`gates`, `gate_units`, `cell_norm`, `state_norm`).
        max_tokens: the most read words explained; a longer review is a `UserError`.
        target: the class whose log-odds are attributed, one of `classifier.labels`;
            None: the predicted class.

    Returns:
        A dict: `label`, `score` (as `classifier.predict` gives them), `probabilities`
        (label -> probability), `tokens` (the words as typed), `offsets` (`[start, end]`
        of each in `text`, code points), `read` (per word: whether the model read it),
        `read_count`, `serve_length` (None: the whole review), `target` (the class
        explained), `runner_up` (the most probable class besides it), `attributions` and
        `occlusion` (per word), `trajectories` (label -> its probability after each
        read word), `trajectory` (one of them: see the module),
        `log_odds` (F(x)), `baseline_log_odds` (F(baseline)), `completeness_gap` (the
        attributions' sum minus their difference), `steps`, `baseline`, `cell`, the
        gates' fields (see the module) and `notes`.

    Raises:
        UserError: `steps` below 1, a non-string `text`, more than `max_tokens` words
            read, or a `target` that is not one of the model's classes.

    Example:

    >>> result = explain(classifier, "A great film.")
    >>> result["tokens"], len(result["attributions"]), len(result["trajectory"])
    (['A', 'great', 'film'], 3, 3)
    """
    return explainer(classifier).explain(text, steps, gates, max_tokens, target)


def explain_many(classifier, texts, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS, target=None):
    """`[explain(classifier, t, ...) for t in texts]`, with the explainer built once."""
    return [explain(classifier, t, steps, gates, max_tokens, target) for t in texts]


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
            self.recurrent = []  # recurrent_0 (or bidirectional_0), recurrent_1, ...; or encoder_0, ...
            while names := [n for n in (f"recurrent_{len(self.recurrent)}", f"bidirectional_{len(self.recurrent)}",
                                        f"encoder_{len(self.recurrent)}") if n in layers]:
                self.recurrent.append(layers[names[0]])
            self.transformer = "positions" in layers
            if self.transformer:  # the positions are added to the step inputs first
                self.recurrent.insert(0, layers["positions"])
            self.dense = layers.get("probabilities") if "recurrent_scores" not in layers else layers["recurrent_scores"]
        except KeyError as error:
            raise UserError(f"The model has no layer {error}; it was not built by train.py, "
                            "so it cannot be explained.") from None
        if self.dense is None or not self.recurrent:
            raise UserError("The model has no recurrent layers and softmax layer of train.py's; "
                            "it cannot be explained.")
        self.pools = [layers[n] for n in ("max_pool", "mean_pool", "attention_pool") if n in layers]
        self.attention = layers.get("attention_pool")
        self.linear = [layers[n] for n in ("word_weights", "bigram_weights", "trigram_weights") if n in layers]
        self.once = [layers[n] for n in ("word_once", "bigram_once", "trigram_once") if n in layers]  # --linear-once
        # Whether a step's state depends on the words after it (then a prefix's scores are
        # those of the prefix run as a text of its own): both ways, or self-attention.
        self.bidirectional = isinstance(self.recurrent[-1], keras.layers.Bidirectional) or self.transformer
        last = self.recurrent[-1].forward_layer if isinstance(self.recurrent[-1], keras.layers.Bidirectional) \
            else self.recurrent[-1]
        self.inspectable = isinstance(last, rnn.Recurrent)
        self.last = last
        self.width = self.embedding.output_dim + sum(table.output_dim for table in self.tables)
        self._sequences = None if self.inspectable or self.transformer else _sequences_copy(last)
        spec = tf.TensorSpec
        self._scores = tf.function(self.scores, input_signature=[spec([None, None], tf.int32)])
        self._gradients = tf.function(self.path_gradients, input_signature=[
            spec([1, None], tf.int32), spec([None], tf.float32), spec([None], tf.float32), spec([], tf.int32)])
        self._trace = tf.function(self.trace, input_signature=[spec([1, None], tf.int32)])
        self._attention = tf.function(self.attention_weights, input_signature=[spec([1, None], tf.int32)])

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

    def attention_weights(self, tokens):
        """`--pooling attention`: the attention weight of each step of one review's token ids
        `(1, time)` (no padding) in its text vector, `(1, time)`."""
        x = self.inputs(tokens)
        for layer in self.recurrent:
            x = layer(x, training=False)
        return self.attention.attention(x)

    def head(self, x):
        """The Dense layer's class scores of review vectors `x` (softmax left out)."""
        return ops.matmul(x, self.dense.kernel) + self.dense.bias

    def linear_steps(self, tokens):
        """`--linear-ngrams`: each step's class weights in the linear branch, `(batch,
        time, classes)`, 0 at padding; zeros for a model without it."""
        if not self.linear:
            return ops.zeros((*ops.shape(tokens), len(self.labels)))
        mask = ops.expand_dims(ops.cast(ops.not_equal(tokens, 0), "float32"), -1)
        if self.once:  # each n-gram's weights at its first step only
            return sum(once([table(tokens), tokens]) for table, once in zip(self.linear, self.once)) * mask
        return sum(table(tokens) for table in self.linear) * mask

    def scores(self, tokens):
        """The model's class scores of token ids `(batch, time)`, padding 0; their
        softmax is what the model serves."""
        mask = ops.not_equal(tokens, 0)
        recurrent = self.recurrent_scores(self.inputs(tokens), mask)
        return recurrent + ops.sum(self.linear_steps(tokens), axis=1)

    def path_gradients(self, tokens, alphas, weights, target):
        """On the straight path from the zero baseline to one review's step inputs x and
        linear-branch step weights L (token ids `tokens` `(1, time)`), F = `log_odds` of
        class `target` at the point `alphas[k]` (inputs `alphas[k] * x`, linear branch
        `alphas[k] * sum_t L_t`): returns `(sum_k weights[k] * grad_x F . x_t for each
        step t, F at each point, sum_k weights[k] * dF/dscores)`, `(time,)`, `(points,)`
        and `(classes,)`, from one forward and backward pass."""
        x = self.inputs(tokens)[0]  # (time, width)
        scaled = alphas[:, None, None] * x[None]
        linear = alphas[:, None] * ops.sum(self.linear_steps(tokens)[0], axis=0)[None]  # (points, classes)
        masks = ops.ones(ops.shape(scaled)[:2], "bool")
        with tf.GradientTape() as tape:
            tape.watch([scaled, linear])
            f = log_odds(self.recurrent_scores(scaled, masks) + linear, target)
        grads, score_grads = tape.gradient(f, [scaled, linear])  # (points, time, width), (points, classes)
        return ops.sum(ops.tensordot(weights, grads, axes=1) * x, axis=-1), f, ops.tensordot(weights, score_grads, 1)

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
        elif self.transformer:  # its outputs at every step
            quantities = {"h": self.last(x, training=False)}
        else:
            quantities = {"h": self._sequences(x, training=False)}
        if self.bidirectional:  # the scores of the whole review, (1, classes)
            return quantities, self.recurrent_scores(self.inputs(tokens), None) + ops.sum(self.linear_steps(tokens), 1)
        states = quantities["h"][0]  # (time, units)
        if self.pools:  # the pooling of each prefix's outputs
            time = ops.cast(ops.arange(1, ops.shape(states)[0] + 1), "float32")[:, None]
            running = {"max_pool": lambda s: tf.scan(tf.maximum, s), "mean_pool": lambda s: ops.cumsum(s, 0) / time,
                       "attention_pool": self.running_attention}
            pooled = [running[pool.name](states) for pool in self.pools]
            states = pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)
        return quantities, self.head(states) + ops.cumsum(self.linear_steps(tokens)[0], axis=0)

    def running_attention(self, states):
        """The attention pooling of each prefix of one review's outputs `states` `(time,
        units)`: row t weighs steps 1..t by their attention among them, `(time, units)`."""
        steps = ops.shape(states)[0]
        prefixes = ops.arange(steps)[None] <= ops.arange(steps)[:, None]  # (time, time): row t reads 1..t
        energies = ops.repeat(self.attention.energies(states[None]), steps, axis=0)  # (time, time)
        return ops.matmul(pooling.masked_softmax(energies, prefixes), states)

    # Batched runs.

    def class_scores(self, rows):
        """`scores` of int token rows `(n, time)` (a NumPy array), in batches of at most
        `FORWARD_BUDGET` rows x steps; `(n, classes)` float64."""
        rows = np.asarray(rows, np.int32)
        batch = max(1, FORWARD_BUDGET // max(rows.shape[1], 1))
        return np.concatenate([self._scores(rows[k:k + batch]).numpy() for k in range(0, len(rows), batch)]
                              ).astype(np.float64) if len(rows) else np.zeros((0, len(self.labels)))

    def integrated_gradients(self, ids, target, steps):
        """Integrated Gradients of the log-odds of class `target` for token ids `ids`
        `(time,)`: `(per-step attributions (time,), F(x), F(baseline))`, the linear
        branch's per-step terms included."""
        tokens = tf.constant(ids[None], tf.int32)
        midpoints = (np.arange(steps, dtype=np.float32) + 0.5) / steps  # the midpoint rule
        alphas = np.concatenate([midpoints, [1.0, 0.0]]).astype(np.float32)  # and F(x), F(baseline) in the batch
        weights = np.concatenate([np.ones(steps), [0.0, 0.0]]).astype(np.float32)
        total, f, score_grads = np.zeros(len(ids), np.float64), [], np.zeros(len(self.labels), np.float64)
        batch = max(1, GRADIENT_BUDGET // len(ids))
        for k in range(0, len(alphas), batch):
            summed, values, dscores = self._gradients(tokens, tf.constant(alphas[k:k + batch]),
                                                      tf.constant(weights[k:k + batch]), tf.constant(target, tf.int32))
            total += summed.numpy().astype(np.float64)
            score_grads += dscores.numpy().astype(np.float64)
            f.extend(values.numpy().tolist())
        f_x, f_base = f[-2], f[-1]
        linear = ops.convert_to_numpy(self.linear_steps(tokens))[0].astype(np.float64) @ score_grads  # (time,)
        return (total + linear) / steps, f_x, f_base

    def occlusion(self, ids, target, probability):
        """`probability` (p of class `target` for `ids`) minus p of that class with each
        step's token replaced by `OOV`, `(time,)`."""
        rows = np.repeat(ids[None], len(ids), axis=0)
        np.fill_diagonal(rows, OOV)
        return probability - softmax(self.class_scores(rows))[:, target]

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

    def target_index(self, target):
        """The index of class `target` (None: None), or a `UserError` naming the classes."""
        if target is None:
            return None
        if target not in self.labels:
            raise UserError(f"There is no class {str(target)!r} to explain; the model's classes are "
                            f"{', '.join(self.labels)}.")
        return self.labels.index(target)

    def explain(self, review, steps=DEFAULT_STEPS, gates=True, max_tokens=MAX_TOKENS, target=None):
        """See `explain`."""
        steps = whole_number(steps, "The number of integration steps")
        chosen = self.target_index(target)
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
        k = predicted if chosen is None else chosen
        others = np.delete(np.arange(len(self.labels)), k)
        runner_up = int(others[np.argmax(probabilities[others])])
        result = {
            "label": self.labels[predicted], "score": float(probabilities[predicted]),
            "probabilities": {label: float(p) for label, p in zip(self.labels, probabilities)},
            "target": self.labels[k], "runner_up": self.labels[runner_up],
            "tokens": typed, "offsets": offsets, "read": [t < n for t in range(len(typed))],
            "read_count": n, "serve_length": self.serve_length, "cell": self.cell,
            "steps": steps, "baseline": BASELINE, "notes": [],
        }
        f_x = float(scores[k] - special.logsumexp(scores[others]))
        attributions, occluded, curves = np.zeros(len(typed)), np.zeros(len(typed)), np.zeros((0, len(self.labels)))
        base_log_odds = f_x
        if n:
            ig, f_x, base_log_odds = self.integrated_gradients(read, k, steps)
            attributions[:n] = ig
            occluded[:n] = self.occlusion(read, k, float(probabilities[k]))
            prefix = self.prefix_scores(read) if self.bidirectional else ops.convert_to_numpy(prefix)
            curves = softmax(np.asarray(prefix, np.float64))
        shown = self.positive if len(self.labels) == 2 else k
        result.update({
            "attributions": attributions.tolist(), "occlusion": occluded.tolist(),
            "trajectory": curves[:, shown].tolist(),
            "trajectories": {label: curves[:, j].tolist() for j, label in enumerate(self.labels)},
            "log_odds": f_x, "baseline_log_odds": base_log_odds,
            "completeness_gap": float(attributions.sum() - (f_x - base_log_odds)),
        })
        if self.attention is not None:
            weights = np.zeros(len(typed))
            if n:
                weights[:n] = ops.convert_to_numpy(self._attention(tf.constant(read[None])))[0]
            result["attention"] = weights.tolist()
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
        if self.transformer:
            summary["notes"] = ["A Transformer encoder has no gates or recurrent state; the state norm is that "
                                "of its last block's output at each word, which attends to the whole text."]
        elif not self.inspectable:
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


def log_odds(scores, target):
    """log p_target - log(1 - p_target) of class scores `(points, classes)`: the target's
    score less the logsumexp of the others' (with two classes, the other's), `(points,)`."""
    others = tf.concat([scores[:, :target], scores[:, target + 1:]], axis=1)
    return scores[:, target] - tf.reduce_logsumexp(others, axis=1)


def softmax(scores):
    """Row-wise softmax of class scores `(n, classes)`, float64."""
    scores = np.asarray(scores, np.float64)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
