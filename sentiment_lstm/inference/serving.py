"""The serving function: an end-to-end model's probabilities for a batch of reviews,
computed in groups of reviews of similar length.

The end-to-end model (`network.build_end_to_end`) pads a batch of token ids to its
longest review, and its embeddings and n-gram lookups then run over every padded
step: when it serves whole reviews, a batch of 256 whose longest review has 1,000
tokens and whose mean has 230 computes about four times its own size. Here the
batch is tokenized as the model does it (in parts, side by side on the cores), its
rows are sorted by length, longest first, and cut into groups: a group starts at the longest row left and takes the
rows at least half as long (at most `GROUP` of them), so each group, padded only to
its own longest review, is at least half real tokens. Each group goes through the
token model, and the rows come back in the batch's order. Few groups, so few passes
of the recurrence's loop: its steps cost about as much for one row as for many. Each
group goes through the token model with its word embedding folded into the recurrent
layer's input weights where the model allows it (`folding.py`). Each row's
probabilities are the end-to-end model's (a row never depends on the others; only
the float rounding of sums may differ).

The recurrence is a chain of small steps that one core runs, so the groups are shared
among `SIDES` sides (one per core) that TensorFlow runs side by side, each its groups
one after another (docs/experiments.md). A folded model's groups (at most `GROUP` rows)
all run in XLA's compiled chunks (`rnn/compiled.py`), whose chunk k runs the rows still
going at its first step, rounded up to a compiled row size: a step of `r` rows costs
about `size(r) + STEP_ROWS` (`benchmarks/chunk_steps.py`: a step's fixed cost is about
that of 13-16 rows), `size(r)` being `r` rounded up (or `r` itself, for a model that
does not fold). The groups, longest first, each go where the batch finishes soonest:
whole to the side with the least work so far, or cut in two at the row that ends it
soonest on the two sides with the least (the default model's 232 reviews clipped to 200
tokens go as 104 and 128; the best model's first batch of 256 has every group cut).

The exported SavedModel's `serve` (and `serving_default`) is this function, and
`classify.Classifier` calls it too, so both compute the same thing.

Example:

>>> probabilities = tf.function(serving.probabilities_fn(end_to_end), input_signature=[serving.SIGNATURE])
>>> probabilities(tf.constant(["A great film.", "", "Dull."])).shape
TensorShape([3, 2])
"""
import keras
import tensorflow as tf

from sentiment_lstm.inference import folding
from sentiment_lstm.rnn import compiled

GROUP = 256  # the most reviews in a group
TOKENIZE_PARTS = 2  # parts of a batch tokenized side by side (a batch of 256: 33 -> 17 ms on 2 cores)
SIDES = 2  # sides of a batch whose groups run side by side (the module's text), one per core
STEP_ROWS = 16  # a chunk step of r rows costs about size(r) + 16 rows (`benchmarks/chunk_steps.py` fits 13)
SIGNATURE = tf.TensorSpec([None], tf.string, name="review")  # a 1-D batch of reviews, as the model's input


def probabilities_fn(end_to_end, group=GROUP, with_known=False, sides=None):
    """`probabilities(texts)`: `(batch,)` strings -> `(batch, classes)` float32, the
    probabilities `end_to_end` gives, computed group by group (the module's text).

    Args:
        end_to_end: a model built by `network.build_end_to_end` (or loaded from its
            `model.keras`): its layers are the tokenization (the vectorizer, the
            clip, the padding to one step), then the layer "token_model".
        group: the most rows in a group.
        with_known: also return, as int32 `(batch,)`, how many of the tokens each
            review is read by are in the vocabulary (id > 1: neither padding nor
            out-of-vocabulary), from the same tokenization.

    The weights are read when this is called, for the fold (`folding.fold`): call it
    again after changing them.
    """
    token_model = end_to_end.get_layer("token_model")
    tokenization = [layer for layer in end_to_end.layers
                    if layer is not token_model and not isinstance(layer, keras.layers.InputLayer)]
    classes = token_model.output.shape[-1]
    folded = folding.fold(token_model)  # None: the token model as it is
    n_sides = SIDES if sides is None else sides
    forward = folded or (lambda rows: token_model(rows, training=False))
    rounded = folded is not None and group <= compiled.most_rows(projected=True)  # every group in compiled chunks

    def tokenize(texts):
        tokens = texts
        for layer in tokenization:  # a chain, in the model's order
            tokens = layer(tokens)
        return tf.convert_to_tensor(tokens)  # (batch, >= 1 steps), right-padded with 0

    def probabilities(texts):
        # The batch in `TOKENIZE_PARTS` parts, whose string operations TensorFlow runs side
        # by side (nothing links them); each padded to the longest part.
        batch = tf.shape(texts)[0]
        parts = [tokenize(texts[batch * k // TOKENIZE_PARTS:batch * (k + 1) // TOKENIZE_PARTS])
                 for k in range(TOKENIZE_PARTS)]
        width = tf.reduce_max(tf.stack([tf.shape(part)[1] for part in parts]))
        tokens = tf.concat([tf.pad(part, [[0, 0], [0, width - tf.shape(part)[1]]]) for part in parts], 0)
        lengths = tf.math.count_nonzero(tokens, axis=1, dtype=tf.int32)
        known = tf.math.count_nonzero(tokens > 1, axis=1, dtype=tf.int32)
        order = tf.argsort(lengths, direction="DESCENDING", stable=True)
        tokens, lengths = tf.gather(tokens, order), tf.gather(lengths, order)
        plan = _plan(lengths, group, n_sides, rounded)  # (groups, sides, 2): each side's share of each group
        sides, rows = [], []
        for k in range(n_sides):
            share = tf.boolean_mask(plan[:, k], plan[:, k, 1] > 0)  # its [start, size] slices
            sides.append(run_slices(tokens, lengths, share))
            rows.append(tf.gather(order, tf.ragged.range(share[:, 0], share[:, 0] + share[:, 1]).flat_values))
        probabilities = tf.dynamic_stitch(rows, sides)  # in the batch's order
        return (probabilities, known) if with_known else probabilities

    def run_slices(tokens, lengths, slices):
        # The probabilities of the sorted rows of `slices` `(k, 2)` ([start, size]), in order.
        def run_slice(k, outputs):
            start, size = slices[k, 0], slices[k, 1]
            rows = tf.slice(tokens, [start, 0], [size, tf.maximum(lengths[start], 1)])
            return k + 1, outputs.write(k + 1, forward(rows))

        outputs = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False,
                                 element_shape=[None, classes])
        outputs = outputs.write(0, tf.zeros((0, classes)))  # so a side without rows gives (0, classes)
        _, outputs = tf.while_loop(lambda k, _: k < tf.shape(slices)[0], run_slice, (tf.constant(0), outputs))
        return outputs.concat()

    probabilities.resources = folded.resources if folded else []  # what an export keeps beside the model
    return probabilities


def _plan(lengths, group, sides, rounded=True):
    """How the groups of the sorted `lengths` `(batch,)` are shared among `sides` sides:
    int32 `(groups, sides, 2)`, each side's `[start, size]` of each group (size 0: none
    of it). A group starts at the longest row left and takes the rows at least half as
    long, at most `group`; longest first, each goes whole to the side with the least
    work so far, or cut in two at the row where the two sides with the least work
    finish it soonest, where that finishes the batch sooner (`_part_costs`; the
    module's text). `rounded`: the groups run in compiled chunks, whose rows are
    rounded up to a compiled size."""
    batch = tf.shape(lengths)[0]

    def plan_group(start, loads, plan):
        size = tf.reduce_sum(tf.cast(2 * lengths[start:start + group] >= lengths[start], tf.int32))  # >= 1
        head, tail = _part_costs(lengths[start:start + size], rounded)  # of rows [0, a) and [a, size), a = 0..size
        by_load = tf.argsort(loads, stable=True)
        first, second = (tf.one_hot(by_load[k], sides, dtype=tf.int32) for k in (0, min(1, sides - 1)))
        whole = (loads + first * head[-1])[None]
        if sides == 1:
            options = whole
        else:  # a cut at row a = 1 .. size - 1: [0, a) to one of the two sides, [a, size) to the other
            parts = head[1:-1, None], tail[1:-1, None]
            options = tf.concat([whole, loads + first * parts[0] + second * parts[1],
                                 loads + second * parts[0] + first * parts[1]], 0)
        best = tf.cast(tf.argmin(tf.reduce_max(options, 1)), tf.int32)  # the first of the least: whole if it ties
        cut = best > 0
        swapped = best >= size  # the first part to the second side
        a = tf.where(cut, (best - 1) % tf.maximum(size - 1, 1) + 1, size)
        head_side, tail_side = tf.where(swapped, second, first), tf.where(swapped, first, second)
        sizes = head_side * a + tail_side * tf.where(cut, size - a, 0)
        starts = start + tail_side * tf.where(cut, a, 0)
        shares = tf.stack([starts, sizes], 1)
        return start + size, options[best], plan.write(plan.size(), shares)

    plan = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[sides, 2])
    _, _, plan = tf.while_loop(lambda start, *_: start < batch, plan_group,
                               (tf.constant(0), tf.zeros([sides], tf.int32), plan))
    return tf.reshape(plan.stack(), [-1, sides, 2])


def _part_costs(lengths, rounded=True):
    """The work of the rows `[0, a)` and of the rows `[a, n)` of a group whose `lengths`
    `(n,)` are sorted, longest first, for every `a` from 0 to n: two int32 `(n + 1,)`.

    The recurrence runs a part in chunks of `compiled.CHUNK` steps; chunk k runs the
    part's rows still going at its first step, rounded up to a compiled row size
    (`rounded`), for as many steps as the part's longest row has in it (rounded up to
    `compiled.UNROLL`), and each of those steps costs its rows plus `STEP_ROWS`."""
    n = tf.shape(lengths)[0]
    firsts = compiled.CHUNK * tf.range((tf.maximum(lengths[0], 1) + compiled.CHUNK - 1) // compiled.CHUNK)
    running = tf.reduce_sum(tf.cast(lengths[None, :] > firsts[:, None], tf.int32), 1)  # each chunk's rows
    a = tf.range(n + 1)[:, None]
    longest = tf.concat([lengths, [0]], 0)[:, None]  # the longest row of [a, n)

    def cost(rows, longest):  # (n + 1, chunks) rows and each part's longest row -> (n + 1,)
        steps = tf.clip_by_value(longest - firsts, 0, compiled.CHUNK)
        steps = (steps + compiled.UNROLL - 1) // compiled.UNROLL * compiled.UNROLL
        rows = compiled._row_size(rows) if rounded else rows
        return tf.reduce_sum(steps * tf.where(rows > 0, rows + STEP_ROWS, 0), 1)

    return cost(tf.minimum(a, running), lengths[:1][None]), cost(tf.maximum(running - a, 0), longest)
