"""The packed LSTM recurrence (`packed.py`, TensorFlow): equal to Keras' LSTM and to the
unpacked path, in values and gradients in training and in values in inference, on
batches that span several blocks, with rows of equal, zero and full length; used where
it applies, not under XLA."""

import keras
import numpy as np
import pytest

from sentiment_lstm.rnn import compiled, fused, layers, packed
from sentiment_lstm.rnn.cells import LSTMCell

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the packed path is TensorFlow's")

RNG = np.random.default_rng(7)
BATCH, TIME, FEATURES, UNITS = 6, 2 * packed.BLOCK + 3, 5, 3  # three blocks, the last one partial
X = RNG.normal(size=(BATCH, TIME, FEATURES)).astype("float32")
LENGTHS = np.array([TIME, 0, 7, 7, packed.BLOCK, 1])  # full, empty, a tie, a block's end, one step
RIGHT_PADDED = np.arange(TIME)[None, :] < LENGTHS[:, None]
SCATTERED = RNG.random((BATCH, TIME)) < 0.5
TOL = 1e-5


def gradients_in_graph(layer, x, mask):
    """Outputs and d(sum of outputs * fixed weights)/d(input, weights), in a tf.function
    (a graph, as `fit` runs it), training mode."""
    x = tf.constant(x)
    mask = None if mask is None else tf.constant(mask)

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, mask=mask, training=True)
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            weights = [tf.constant(np.random.default_rng(k).normal(size=o.shape).astype("float32"))
                       for k, o in enumerate(outputs)]
            loss = sum(tf.reduce_sum(o * w) for o, w in zip(outputs, weights))
        return outputs, tape.gradient(loss, [x] + [v.value for v in layer.trainable_variables])

    outputs, grads = run()
    return [np.asarray(v) for v in outputs + grads]


def pair(**kwargs):
    reference, ours = keras.layers.LSTM(UNITS, **kwargs), layers.LSTM(UNITS, **kwargs)
    reference(X), ours(X)
    reference.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    return reference, ours


@pytest.mark.parametrize("mask", [None, RIGHT_PADDED, SCATTERED], ids=["no-mask", "right-padded", "scattered"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_values_and_gradients_match_keras(mask, return_sequences, go_backwards):
    reference, ours = pair(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    for a, b in zip(gradients_in_graph(ours, X, mask), gradients_in_graph(reference, X, mask)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_without_return_state_matches_keras():
    """Without `return_state` no `c` is kept for the backward pass: another code path."""
    reference, ours = pair(return_sequences=True)
    for a, b in zip(gradients_in_graph(ours, X, RIGHT_PADDED), gradients_in_graph(reference, X, RIGHT_PADDED)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_training_and_inference_use_the_packed_path(monkeypatch):
    calls = []
    for name in ("lstm_recurrence", "lstm_inference"):
        original = getattr(packed, name)
        monkeypatch.setattr(packed, name, lambda *a, _name=name, _original=original, **k:
                            calls.append(_name) or _original(*a, **k))
    layer = layers.LSTM(UNITS)
    layer(X, mask=RIGHT_PADDED, training=True)
    assert calls == ["lstm_recurrence"]
    calls.clear()
    layer(X, mask=RIGHT_PADDED, training=False)  # the last states of a small batch: `compiled.py`
    assert calls == []
    layers.LSTM(UNITS, return_sequences=True)(X, mask=RIGHT_PADDED, training=False)
    assert calls == ["lstm_inference"]
    calls.clear()
    big = np.resize(X, (compiled.MOST_ROWS + 1, TIME, FEATURES))
    layer(big, mask=np.resize(RIGHT_PADDED, big.shape[:2]), training=False)
    assert calls == ["lstm_inference"]
    calls.clear()
    layer.inspect(X, mask=RIGHT_PADDED)  # every quantity at every step: the plain loop
    assert calls == []


@pytest.mark.parametrize("mask", [None, RIGHT_PADDED, SCATTERED], ids=["no-mask", "right-padded", "scattered"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_inference_matches_keras_and_the_plain_loop(mask, return_sequences, go_backwards, monkeypatch):
    reference, ours = pair(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards)
    h0, c0 = (tf.constant(RNG.normal(size=(BATCH, UNITS)).astype("float32")) for _ in range(2))
    mask = None if mask is None else tf.constant(mask)

    def run(layer):
        outputs = tf.function(lambda: layer(tf.constant(X), mask=mask, initial_state=[h0, c0], training=False))()
        return [np.asarray(o) for o in outputs]

    packed_outputs = run(ours)
    monkeypatch.setattr(layers, "_packs", lambda *a: False)
    for expected in (run(reference), run(ours)):
        for a, b in zip(packed_outputs, expected):
            np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_matches_the_unpacked_recurrence_with_input_dropout():
    """Same input dropout mask, same initial states: the packed recurrence and
    `fused.lstm_recurrence` (every step of every row) give the same h, c and gradients
    at the valid steps."""
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    input_mask = tf.constant((RNG.random((BATCH, FEATURES)) > 0.3) / 0.7, tf.float32)
    x = tf.constant(X)
    h0 = tf.constant(RNG.normal(size=(BATCH, UNITS)).astype("float32"))
    c0 = tf.constant(RNG.normal(size=(BATCH, UNITS)).astype("float32"))
    steps = np.arange(TIME + 1)[None, :].repeat(BATCH, 0)  # read after 0..TIME steps
    steps = tf.constant(np.minimum(steps, LENGTHS[:, None]).astype("int32"))

    def packed_states():
        sequences, read = packed.lstm_recurrence(cell, x, LENGTHS, h0, c0, input_mask)
        return read(sequences["h"], h0, steps), read(sequences["c"], c0, steps)

    def unpacked_states():
        x_proj = cell.project(tf.transpose(x, (1, 0, 2)), input_mask)
        H, C = fused.lstm_recurrence(cell, x_proj, h0, c0)
        pick = lambda S, s0: layers._pick(S, s0, steps)  # noqa: E731
        return pick(H, h0), pick(C, c0)

    weights = RNG.normal(size=(2, BATCH, TIME + 1, UNITS)).astype("float32")
    results = []
    for states in (packed_states, unpacked_states):
        with tf.GradientTape() as tape:
            tape.watch([x, h0, c0])
            h, c = states()
            loss = tf.reduce_sum(h * weights[0]) + tf.reduce_sum(c * weights[1])
        results.append([h, c, *tape.gradient(loss, [x, h0, c0, cell.kernel.value, cell.recurrent_kernel.value,
                                                     cell.bias.value])])
    for a, b in zip(*results):
        np.testing.assert_allclose(tf.convert_to_tensor(a).numpy(), tf.convert_to_tensor(b).numpy(), atol=TOL, rtol=0)


def test_not_under_xla():
    cell = LSTMCell(2)

    @tf.function(jit_compile=True)
    def inside():
        return tf.constant(packed.applies(cell, None))

    assert packed.applies(cell, None)
    assert not bool(inside())
