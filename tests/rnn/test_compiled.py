"""The LSTM's last states in compiled chunks (`compiled.py`, TensorFlow): equal to Keras'
LSTM in inference on batches that span several chunks, with rows of zero, one, a chunk's
and full length, any mask, backwards, from given states, at every row size and past the
largest; taken for small batches without `return_sequences` (decided when the graph runs
if the batch size is known only then), packed inference for the rest; compiled by XLA."""

import keras
import numpy as np
import pytest

from sentiment_lstm.rnn import compiled, layers
from sentiment_lstm.rnn.cells import LSTMCell

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the compiled path is TensorFlow's")

RNG = np.random.default_rng(11)
TIME, FEATURES, UNITS = 2 * compiled.CHUNK + 5, 5, 3  # three chunks, the last one partial
ROW_LENGTHS = [TIME, 0, compiled.CHUNK, compiled.CHUNK + 1, 1, 7, TIME - 1, 2 * compiled.CHUNK]
TOL = 1e-5


def batch(rows, scattered=False):
    """`rows` rows of random input and a mask: right-padded to the lengths above (cycled),
    or scattered at random."""
    x = RNG.normal(size=(rows, TIME, FEATURES)).astype("float32")
    lengths = np.resize(ROW_LENGTHS, rows)
    mask = RNG.random((rows, TIME)) < 0.5 if scattered else np.arange(TIME)[None, :] < lengths[:, None]
    return x, mask


def pair(**kwargs):
    reference, ours = keras.layers.LSTM(UNITS, **kwargs), layers.LSTM(UNITS, **kwargs)
    reference.build((None, TIME, FEATURES)), ours.build((None, TIME, FEATURES))  # built, not run
    reference.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32") for w in reference.get_weights()])
    ours.set_weights(reference.get_weights())
    return reference, ours


def outputs(layer, x, mask, initial_state=None, signature_batch=None):
    """The layer in inference inside a tf.function; `signature_batch` None traces the batch
    size as unknown (decided when the graph runs)."""
    specs = [tf.TensorSpec((signature_batch, TIME, FEATURES)), tf.TensorSpec((signature_batch, TIME), tf.bool)]
    run = tf.function(lambda x, mask: layer(x, mask=mask, initial_state=initial_state, training=False),
                      input_signature=specs)
    result = run(tf.constant(x), tf.constant(mask))
    return [np.asarray(o) for o in (result if isinstance(result, (list, tuple)) else [result])]


@pytest.mark.parametrize("rows", [1, 3, 8, compiled.MOST_ROWS], ids=lambda r: f"{r}-rows")
def test_matches_keras_at_every_row_size(rows, recurrence_runs):
    reference, ours = pair(return_state=True)
    x, mask = batch(rows)
    for a, b in zip(outputs(ours, x, mask, signature_batch=rows), outputs(reference, x, mask)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert recurrence_runs["compiled"] == 1 and recurrence_runs["packed"] == 0


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("scattered", [False, True], ids=["right-padded", "scattered"])
def test_masks_directions_and_initial_states_match_keras(go_backwards, scattered):
    reference, ours = pair(return_state=True, go_backwards=go_backwards)
    x, mask = batch(6, scattered)
    h0, c0 = (tf.constant(RNG.normal(size=(6, UNITS)).astype("float32")) for _ in range(2))
    expected = outputs(reference, x, mask, [h0, c0])
    for a, b in zip(outputs(ours, x, mask, [h0, c0], signature_batch=6), expected):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_zero_output_for_mask_and_no_return_state_match_keras():
    reference, ours = pair(zero_output_for_mask=True)
    x, mask = batch(4)
    mask[0, -1] = False  # a row whose last step is masked: zeros
    mask[3] = True  # a row whose last step is valid
    (a,), (b,) = outputs(ours, x, mask, signature_batch=4), outputs(reference, x, mask)
    np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert not a[0].any() and a[3].any()


def test_past_the_largest_row_size_the_chunks_take_the_batch_as_it_is():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    rows = compiled.MOST_ROWS + 4
    x, mask = batch(rows)
    lengths = mask.sum(1).astype("int32")
    zeros = tf.zeros((rows, UNITS))
    h, c = compiled.compiled_last_states(cell, tf.constant(x), tf.constant(lengths), zeros, zeros)
    expected = compiled._packed_last_states(cell, tf.constant(x), tf.constant(lengths), zeros, zeros, None, True)
    np.testing.assert_allclose(h.numpy(), expected[0].numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(c.numpy(), expected[1].numpy(), atol=TOL, rtol=0)


def test_an_empty_batch_gives_empty_states():
    """A replica's share of a small batch may be no rows at all."""
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    empty = tf.zeros((0, UNITS))
    h, c = compiled.compiled_last_states(cell, tf.zeros((0, TIME, FEATURES)), tf.zeros((0,), tf.int32), empty, empty)
    assert h.shape == (0, UNITS) and c.shape == (0, UNITS)


@pytest.mark.parametrize("rows,path", [(2, "compiled"), (compiled.MOST_ROWS + 1, "packed")])
def test_a_batch_size_known_only_when_it_runs_chooses_then(rows, path, recurrence_runs):
    reference, ours = pair()
    x, mask = batch(rows)
    (a,), (b,) = outputs(ours, x, mask), outputs(reference, x, mask)
    np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    other = {"compiled": "packed", "packed": "compiled"}[path]
    assert recurrence_runs[path] > 0 and recurrence_runs[other] == 0


def test_sequences_and_training_do_not_take_it(recurrence_runs, monkeypatch):
    x, mask = batch(2)
    layers.LSTM(UNITS, return_sequences=True)(x, mask=mask, training=False)
    assert recurrence_runs["compiled"] == 0 and recurrence_runs["packed"] == 1
    calls = []
    monkeypatch.setattr(compiled, "lstm_last_states", lambda *a, **k: calls.append(1))
    layers.LSTM(UNITS)(x, mask=mask, training=True)
    assert calls == []


def test_the_chunk_is_compiled_by_xla():
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    chunk = compiled._compiled_chunk(cell)
    specs = [tf.TensorSpec((compiled.CHUNK, None, FEATURES)), tf.TensorSpec((None,), tf.int32),
             tf.TensorSpec((None, UNITS)), tf.TensorSpec((None, UNITS)),
             tf.TensorSpec((FEATURES, 4 * UNITS)), tf.TensorSpec((4 * UNITS,)), tf.TensorSpec((UNITS, 4 * UNITS))]
    assert chunk.get_concrete_function(*specs).function_def.attr["_XlaMustCompile"].b


@pytest.mark.parametrize("mode", ["eager", "graph", "graph, batch size unknown"])
def test_gradients_through_the_chunks_match_keras(mode, recurrence_runs):
    """Inference outputs are differentiated too (explanations, the gradient flow): the
    chunks' gradient is the packed sequences' rerun, equal to Keras' LSTM's."""
    reference, ours = pair(return_state=True)
    x, mask = batch(3)
    x, mask = tf.constant(x), tf.constant(mask)
    h0, c0 = (tf.constant(RNG.normal(size=(3, UNITS)).astype("float32")) for _ in range(2))
    weights = [tf.constant(RNG.normal(size=(3, UNITS)).astype("float32")) for _ in range(3)]

    def gradients(layer):
        def run(x, mask, h0, c0):
            with tf.GradientTape() as tape:
                tape.watch([x, h0, c0])
                outputs = layer(x, mask=mask, initial_state=[h0, c0], training=False)
                loss = sum(tf.reduce_sum(o * w) for o, w in zip(outputs, weights))
            return tape.gradient(loss, [x, h0, c0] + [v.value for v in layer.trainable_variables])

        if mode != "eager":
            batch_size = None if mode.endswith("unknown") else 3  # unknown: the path is a tf.cond
            run = tf.function(run, input_signature=[
                tf.TensorSpec((batch_size, TIME, FEATURES)), tf.TensorSpec((batch_size, TIME), tf.bool),
                tf.TensorSpec((batch_size, UNITS)), tf.TensorSpec((batch_size, UNITS))])
        return [np.asarray(tf.convert_to_tensor(g)) for g in run(x, mask, h0, c0)]

    for a, b in zip(gradients(ours), gradients(reference)):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)
    assert recurrence_runs["compiled"] > 0


def test_standard_lstms_share_one_chunk_function_per_kind_of_input_and_others_have_none():
    first, second, other = LSTMCell(UNITS), LSTMCell(UNITS + 1), LSTMCell(UNITS, activation="relu")
    assert compiled._compiled_chunk(first) is compiled._compiled_chunk(second)
    assert compiled._compiled_chunk(first) is not compiled._compiled_chunk(first, projected=True)
    with pytest.raises(TypeError, match="standard LSTMCell"):
        compiled._compiled_chunk(other)


def test_the_chunks_step_is_the_cells_transition():
    """`_lstm_step` writes each σ through tanh: the cell's own equations give the same
    states, to 1e-6, over the whole range of the gates' inputs."""
    cell = LSTMCell(UNITS)
    cell.build((None, FEATURES))
    z = tf.constant(np.concatenate([np.linspace(-30, 30, 4 * UNITS * 50).reshape(50, 4 * UNITS),
                                    RNG.normal(scale=3, size=(50, 4 * UNITS))]).astype("float32"))
    c_prev = tf.constant(RNG.normal(scale=2, size=(100, UNITS)).astype("float32"))
    h_prev = tf.zeros((100, UNITS))
    expected = cell.transition(z, [h_prev, c_prev], {"W_h": tf.zeros((UNITS, 4 * UNITS))})
    for step in (compiled._lstm_step, tf.function(compiled._lstm_step, jit_compile=True, autograph=False)):
        h, c = step(z, c_prev)
        np.testing.assert_allclose(h, expected["h"], atol=1e-6, rtol=0)
        np.testing.assert_allclose(c, expected["c"], atol=1e-6, rtol=0)
